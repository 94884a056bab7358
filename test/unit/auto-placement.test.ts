// AutoPlacement (src/migration/automatic/autoPlacement.ts), the engine's placement: candidates, each one's
// preflight, the measured states through the helpers, and `migrate` with `to: 'auto'`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import type { MigrationRequest, MigrationResult } from '../../src/migration/api';
import { AutoPlacement } from '../../src/migration/automatic/autoPlacement';
import { PreflightError } from '../../src/migration/errors';
import type { PreflightRunner } from '../../src/migration/preflightRun';
import { FakeEngine } from './fakes/checkpoint';
import { FakeHost } from './fakes/transport';


function host(name: string, memGiB: number): FakeHost {
  const h = new FakeHost(name);
  h.answers.set('host-state', () => `arch=x86_64\ncpus_online=4\nuptime=100\nload1=0.4\nload5=0.2\nmem_available_kib=${memGiB * 1024 * 1024}\ndisk_available_kib=99999999\ncriu_version=4.2.1\n`);
  h.answers.set('tree-use', () => 'cpu_cores=0.5\nrss_kib=102400\n');
  return h;
}

function placement(hosts: FakeHost[], refuse: Record<string, string> = {}, configured = hosts.map((h) => h.name)) {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const preflighted: string[] = [];
  const preflight = (async (_s, _d, request) => {
    preflighted.push(request.to);
    if (refuse[request.to]) throw new PreflightError([refuse[request.to]]);
    return undefined as never;
  }) as PreflightRunner;
  const auto = new AutoPlacement({
    helper: async (name) => HostHelper.for(byName.get(name)!),
    listProcesses: async () => [],
    checkpoint: new FakeEngine([], 0),
    configuredHosts: () => configured,
    preflight,
  });
  return { auto, preflighted };
}

describe('AutoPlacement', () => {
  it('chooses among every configured host but the source, each preflighted', async () => {
    const { auto, preflighted } = placement([host('a', 1), host('b', 2), host('c', 8)], { c: 'c lacks /srv/app.db; copy it there.' });
    const p = await auto.place({ pid: 7, from: 'a' });
    auto.dispose();
    assert.deepEqual(preflighted.sort(), ['b', 'c']);
    assert.equal(p.to, 'b');
    assert.deepEqual(p.candidates.map((c) => [c.host, c.feasible]), [['b', true], ['c', false]]);
    assert.equal(p.candidates[1].reason, 'c was passed over: c lacks /srv/app.db; copy it there.');
  });

  it('`candidates` narrows the choice', async () => {
    const { auto } = placement([host('a', 1), host('b', 2), host('c', 8)]);
    const p = await auto.place({ pid: 7, from: 'a', candidates: ['c'] });
    auto.dispose();
    assert.deepEqual(p.candidates.map((c) => c.host), ['c']);
  });

  it('migrate to auto moves the process to the chosen host, the placement in the result; nowhere: fails without moving', async () => {
    const { auto } = placement([host('a', 1), host('b', 2), host('c', 8)], { c: 'c is aarch64.' });
    const moved: MigrationRequest[] = [];
    const migrate = async (r: MigrationRequest) => {
      moved.push(r);
      return { ok: true, from: r.from, to: r.to, bytes: 64 << 20, phases: { dump: 500, transfer: 500 } } as MigrationResult;
    };
    const r = await auto.migrate({ pid: 7, from: 'a', to: 'auto' }, {}, migrate);
    assert.equal(moved[0].to, 'b');
    assert.equal(r.to, 'b');
    assert.equal(r.placement?.to, 'b');
    auto.learn(r);
    assert.equal(auto.states.link('a', 'b')?.mibPerSec, 64);

    const none = await auto.migrate({ pid: 7, from: 'a', to: 'auto', candidates: ['c'] }, {}, migrate);
    auto.dispose();
    assert.equal(moved.length, 1, 'nothing moved');
    assert.equal(none.ok, false);
    assert.match(none.error!, /^No candidate can take process 7 from a: c failed the preflight/);
  });
});
