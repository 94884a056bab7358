// The destination picker in the real workbench, against a fake engine: it tells which host the
// user is likely to pick (so the way there is readied): the one highlighted, and as it opens the
// only candidate or the one picked last from that host.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { pickDestination } from '../../../src/ui/migrate/migrate';
import { ProcessModel } from '../../../src/ui/view/processModel';
import { FakeEngine, proc } from './fakeEngine';

function reportOf(host: string) {
  return {
    host,
    reachable: true,
    problems: [],
    capabilities: {
      host, hostname: host, criuVersion: '4.2.1', kernel: '6.1.0', arch: 'x86_64', cpus: 2, load1: 0.1,
      memAvailableKiB: 3 << 20, diskAvailableKiB: 10 << 20, imagesDir: '/var/tmp', privilege: 'root' as const, features: {}, pipeMaxSize: 4 << 20,
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Destination picker (fake engine)', () => {
  it('readies the highlighted host, then the one picked last as it opens again', async () => {
    const hosts = ['pick-a', 'pick-b', 'pick-c'];
    const engine = new FakeEngine(Object.fromEntries(hosts.map((h) => [h, [proc(10, 1, 0, 'worker')]])), Object.fromEntries(hosts.map((h) => [h, reportOf(h)])));
    const model = new ProcessModel({ engine, listHosts: () => hosts, myUid: 0 });
    const likely: string[] = [];

    const first = pickDestination(model, 'pick-a', 'Migrate worker to…', undefined, (h) => likely.push(h));
    await sleep(500);
    assert.equal(likely.length, 0, 'two candidates and no earlier pick: "Best host" is highlighted, nothing is readied');
    // Down the list (local, the lab hosts) until pick-b is highlighted: each highlight is told.
    for (let i = 0; i < 4 && likely.at(-1) !== 'pick-b'; i++) {
      await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
      await sleep(300);
    }
    assert.equal(likely.at(-1), 'pick-b', 'the highlighted host');
    assert.ok(likely.every((h) => h !== 'pick-a'), 'never the source');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    assert.equal(await first, 'pick-b');

    likely.splice(0);
    const second = pickDestination(model, 'pick-a', 'Migrate worker to…', undefined, (h) => likely.push(h));
    await sleep(300);
    assert.equal(likely[0], 'pick-b', 'as it opens: the host picked last from pick-a');
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(await second, undefined);
  });
});
