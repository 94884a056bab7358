// Placement ranks hosts by headroom for the process, ties to the faster link, and says why each
// other host was passed over; the host-state parser reads cgroup limits (the tightest counts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostStates } from '../../src/automatic/hostStates';
import { headroom, rankHosts, type RankInput } from '../../src/automatic/placement';
import { parseHostState } from '../../src/helper/hostState';
import type { HostState } from '../../src/migration/api';

const state = (host: string, over: Partial<HostState> = {}): HostState => ({ host, measuredAt: 0, cpus: 2, load1PerCore: 0, load5PerCore: 0, memAvailableKiB: 4 << 20, diskAvailableKiB: 10 << 20, ...over });
const ok = (host: string) => ({ host, feasible: true, problems: [] });
const proc = { rssKiB: 256 << 10, cpuCores: 1 };

describe('placement', () => {
  it('ranks 200 synthetic hosts: the most headroom wins, the infeasible are named', () => {
    const inputs: RankInput[] = Array.from({ length: 200 }, (_, i) => ({
      state: state(`h${i}`, { cpus: 1 + (i % 8), busyCores: (i * 7) % 5 === 0 ? 0 : 0.5, memAvailableKiB: ((i % 13) + 1) << 20 }),
      feasibility: i % 10 === 3 ? { host: `h${i}`, feasible: false, problems: [`h${i} lacks CRIU.`] } : ok(`h${i}`),
    }));
    const placement = rankHosts(proc, inputs);
    const best = Math.max(...inputs.filter((i) => i.feasibility.feasible).map((i) => headroom(i.state, proc)));
    assert.ok(placement.host);
    assert.ok(headroom(inputs.find((i) => i.state.host === placement.host)!.state, proc) >= best * 0.9);
    assert.equal(placement.candidates.length, 200);
    assert.equal(placement.candidates.filter((c) => !c.feasible).length, 20);
    assert.match(placement.candidates.find((c) => c.host === 'h3')!.reason, /lacks CRIU/);
  });

  it('CPU decides for a busy process, memory for a big one', () => {
    const hosts = [{ state: state('cpu', { cpus: 4, busyCores: 0 }), feasibility: ok('cpu') }, { state: state('mem', { cpus: 1, busyCores: 0.5, memAvailableKiB: 64 << 20 }), feasibility: ok('mem') }];
    assert.equal(rankHosts({ rssKiB: 100 << 10, cpuCores: 1 }, hosts).host, 'cpu');
    assert.equal(rankHosts({ rssKiB: 3 << 20, cpuCores: 0.01 }, hosts).host, 'mem');
  });

  it('a tie goes to the faster link, and says so', () => {
    const placement = rankHosts(proc, [
      { state: state('slow'), feasibility: ok('slow'), mibps: 100 },
      { state: state('fast'), feasibility: ok('fast'), mibps: 900 },
    ]);
    assert.equal(placement.host, 'fast');
    assert.match(placement.reason, /faster link/);
    assert.match(placement.candidates[1].reason, /slower/);
  });

  it('no feasible host: no choice, and the reason names each', () => {
    const placement = rankHosts(proc, [{ state: state('a'), feasibility: { host: 'a', feasible: false, problems: ['a is down.'] } }]);
    assert.equal(placement.host, undefined);
    assert.match(placement.reason, /a is down/);
  });

  it('reads the tightest cgroup limit and quota, and the boot ID, from host-state', () => {
    const s = parseHostState('cpus_online=8\nloadavg=2.00 1.00\nmem_available_kib=16000000\ndisk_available_kib=5\nuptime=10.5\narch=x86_64\nboot_id=5e1c0a3b-7d2f-4c1e-9a8b-0f6d2e4c8a11\ncriu_version=4.2.1\ncg_mem=4194304 1000000\ncg_mem=8388608 3000000\ncg_cpu_quota=150000 100000\ncg_cpu_usage_usec=123\ncpu_pressure=1.5\n');
    assert.equal(s.memLimitKiB, 4194304);
    assert.equal(s.memLimitAvailableKiB, 1000000);
    assert.equal(s.cpuQuotaCores, 1.5);
    assert.equal(s.load1, 2);
    assert.equal(s.cpuUsageUsec, 123);
    assert.equal(s.bootId, '5e1c0a3b-7d2f-4c1e-9a8b-0f6d2e4c8a11');
  });

  it('HostStates keeps at most 4 probes in flight and marks a failed probe stale', async () => {
    let inFlight = 0;
    let most = 0;
    const engine = {
      measureHost: async (host: string) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (host === 'bad') throw new Error('bad is down');
        return state(host, { measuredAt: Date.now() });
      },
    };
    const states = new HostStates(engine);
    const got = await states.get([...Array.from({ length: 12 }, (_, i) => `h${i}`), 'bad']);
    assert.equal(most, 4);
    assert.match(got[12].stale ?? '', /bad is down/);
    assert.equal(got[0].stale, undefined);
  });
});
