// Automatic destinations with the real engine between the lab hosts: Migrate to Best Host moves a
// counter from lab-a to lab-b (the only other candidate it is given), where it counts on from where
// it was; Evacuate Host moves the chosen counters off lab-a in one batch, and Bring Back All
// returns them. Each counter is a shell loop writing its count, held in memory, to a file in the
// host's own /tmp: a restart would count from 1 again.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BatchResult, EvacuationResult, HostState, MigrationResult } from '../../../src/migration/api';
import { AutoMarks } from '../../../src/ui/auto/autoMarks';
import { Commands } from '../../../src/ui/common/contributions';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { ProcessModel } from '../../../src/ui/view/processModel';
import type { ProcessTreeNode } from '../../../src/ui/view/processRefs';
import { ProcessTreeProvider } from '../../../src/ui/view/processTree';
import { FakeEngine, proc } from './fakeEngine';
import { activeApi, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

/** A fake engine that measures its hosts. */
class MeasuringEngine extends FakeEngine {
  private readonly listeners = new Set<(s: HostState) => void>();
  states: Record<string, HostState> = {};
  hostStates = async (hosts: string[]) => hosts.filter((h) => this.states[h]).map((h) => this.states[h]);
  onHostState = (listener: (s: HostState) => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  measure(state: HostState): void {
    this.states[state.host] = state;
    for (const l of this.listeners) l(state);
  }
}

describe('Automatic migration in the Processes view (fake engine)', () => {
  const memento = () => {
    const data = new Map<string, unknown>();
    return { get: <T>(k: string) => data.get(k) as T | undefined, update: async (k: string, v: unknown) => void data.set(k, v) };
  };
  const measured = (extra: Partial<HostState>): HostState => ({
    host: 'lab-a', measuredAt: new Date().toISOString(), stale: false, cpus: 2, load1: 1.25, load5: 1, memAvailableBytes: 512 << 20, diskFreeBytes: 8 * 2 ** 30,
    link: { from: 'local', to: 'lab-a', rttMs: 1.5, measuredAt: new Date().toISOString() }, ...extra,
  });

  it('a host row shows its measured state, updated as it is measured, and says when it is stale', async () => {
    const engine = new MeasuringEngine({ local: [], 'lab-a': [proc(10, 1, 1000, 'worker')] });
    const model = new ProcessModel({ engine, listHosts: () => ['lab-a'], myUid: 1000 });
    const tree = new ProcessTreeProvider(model, async () => undefined);
    await tree.getChildren(tree.hostNode('lab-a'));
    engine.measure(measured({}));
    const row = () => tree.getTreeItem(tree.hostNode('lab-a'));
    assert.equal(row().description, '1 processes · load 1.25/core · 512.0 MiB avail · 8.0 GiB disk · 1.5 ms');
    assert.match((row().tooltip as vscode.MarkdownString).value, /Load per core \| 1\\\.25 \\\(1 min\\\)/);
    engine.measure(measured({ stale: true, error: 'lab-a did not answer.' }));
    assert.match(String(row().description), /^1 processes · stale · load/);
    assert.match((row().tooltip as vscode.MarkdownString).value, /Stale: the last probe failed/);
    tree.dispose();
    model.dispose();
  });

  it('a row allowed to move automatically, or protected, says so and offers the matching commands', async () => {
    const engine = new MeasuringEngine({ local: [], 'lab-a': [proc(10, 1, 1000, 'worker'), proc(11, 1, 1000, 'other')] });
    const model = new ProcessModel({ engine, listHosts: () => ['lab-a'], myUid: 1000 });
    const marks = new AutoMarks(memento());
    const protections = { describe: (host: string, pid: number) => (pid === 11 ? 'protected on lab-b, checkpoint 14:02 (frozen 85 ms)' : undefined), onDidChange: () => ({ dispose() {} }) };
    const tree = new ProcessTreeProvider(model, async () => undefined, { marks, protections });
    const rows = (await tree.getChildren(tree.hostNode('lab-a'))).filter((n): n is ProcessTreeNode => n.kind === 'process');
    const row = (pid: number) => tree.getTreeItem(rows.find((r) => r.node.info.pid === pid)!);
    assert.equal(row(10).contextValue, 'process');
    await marks.allow('lab-a', 10, 'worker');
    assert.equal(row(10).contextValue, 'process-auto');
    assert.match(String(row(10).description), /automatic moves allowed/);
    assert.equal(row(11).contextValue, 'process-protected');
    assert.match(String(row(11).description), /protected on lab-b, checkpoint 14:02/);
    tree.dispose();
    model.dispose();
  });
});

const labConfig = process.env.PM_LAB_SSH_CONFIG;
const HOSTS = ['lab-a', 'lab-b'];

describeWithLab('Automatic destinations: Best Host, Evacuate, Bring Back All (lab-a, lab-b)', function () {
  this.timeout(300_000);
  const started: { pid: number; file: string }[] = [];

  /** A counter on lab-a, counting already. */
  const startCounter = async () => {
    const file = `/tmp/pmtest-auto-${Date.now()}-${started.length}`;
    const loop = `i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.1; done`;
    const pid = Number(await labSsh('lab-a', `{ setsid sh -c '${loop}' </dev/null >/dev/null 2>&1 & echo $!; }`));
    started.push({ pid, file });
    await until(`the counter ${file} on lab-a`, async () => (await count('lab-a', file)) > 0);
    return { pid, file };
  };
  const count = async (host: string, file: string) => Number((await labSsh(host, `cat ${file} 2>/dev/null || echo 0`)) || 0);
  /** It counts on `host` past `from`. */
  const countsOnPast = (host: string, file: string, from: number) =>
    until(`the counter ${file} on ${host} to pass ${from}`, async () => (await count(host, file)) > from, 30_000);

  before(async () => {
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    await (await activeApi()).model.refresh();
  });

  after(async () => {
    const pids = started.map((s) => s.pid).join(' ');
    const files = started.map((s) => s.file).join(' ');
    // Their sleep children first, then the loops; on both hosts, wherever they ended up.
    for (const host of HOSTS) {
      await labSsh(host, `for p in ${pids}; do pkill -KILL -P $p; kill -KILL $p; done 2>/dev/null; rm -f ${files}; true`).catch(() => undefined);
    }
  });

  it('Migrate to Best Host moves a counter from lab-a to lab-b, and it counts on from where it was', async () => {
    const api = await activeApi();
    const counter = await startCounter();
    await api.model.refresh(['lab-a']);
    const result = await vscode.commands.executeCommand<MigrationResult>(Commands.MigrateToBestHost, { host: 'lab-a', pid: counter.pid }, { candidates: HOSTS });
    assert.ok(result, 'no result');
    assert.equal(result.ok, true, result.error);
    assert.equal(result.to, 'lab-b');
    assert.equal(result.placement?.to, 'lab-b', 'the result says which host placement chose');
    assert.ok(result.placement.reason.length > 10, `placement reason: ${result.placement.reason}`);
    assert.ok(await runsOn('lab-b', result.destinationPid!), 'the counter does not run on lab-b');
    assert.ok(!(await runsOn('lab-a', counter.pid)), 'the counter still runs on lab-a');
    const atMove = await count('lab-a', counter.file); // the last count written there
    await countsOnPast('lab-b', counter.file, atMove);
    // Ended here, so that Bring Back All below has only the evacuated ones to return.
    await labSsh('lab-b', `pkill -KILL -P ${result.destinationPid}; kill -KILL ${result.destinationPid}; true`);

    const entry = api.history.latest()!;
    assert.equal(entry.result.placement?.to, 'lab-b');
    const html = renderReportHtml({ selected: entry, history: [entry], nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /<h2>Placement<\/h2><p class="placement">Chose <b>lab-b<\/b>/);
  });

  it('Evacuate Host moves the chosen counters off lab-a in one batch; Bring Back All returns them', async () => {
    const api = await activeApi();
    const counters = [await startCounter(), await startCounter()];
    await api.model.refresh(['lab-a']);
    const pids = counters.map((c) => c.pid);
    const evacuation = await vscode.commands.executeCommand<EvacuationResult>(Commands.EvacuateHost, 'lab-a', { pids, to: 'auto', candidates: HOSTS });
    assert.ok(evacuation, 'no result');
    assert.equal(evacuation.ok, true, evacuation.error ?? evacuation.left.map((l) => l.reason).join(' '));
    assert.deepEqual(evacuation.processes.map((p) => p.sourcePid).sort(), [...pids].sort());
    for (const moved of evacuation.processes) {
      const counter = counters.find((c) => c.pid === moved.sourcePid)!;
      assert.equal(moved.to, 'lab-b');
      assert.ok(await runsOn('lab-b', moved.destinationPid!), `PID ${moved.destinationPid} does not run on lab-b`);
      assert.ok(!(await runsOn('lab-a', moved.sourcePid)), `PID ${moved.sourcePid} still runs on lab-a`);
      await countsOnPast('lab-b', counter.file, await count('lab-a', counter.file));
      started.push({ pid: moved.destinationPid!, file: counter.file });
    }
    // One batch in the history, labelled as the evacuation, each entry with its trigger.
    const batch = api.history.batchOf(api.history.latest()!);
    assert.equal(batch.length, 2 + evacuation.left.length);
    assert.ok(batch.every((e) => e.batchLabel === 'Evacuation of lab-a' && e.result.trigger), 'the batch says it was an evacuation');

    // Bring Back All: both go home to lab-a in one batch, and count on there.
    const counts = new Map(await Promise.all(counters.map(async (c) => [c.file, await count('lab-b', c.file)] as const)));
    const back = await vscode.commands.executeCommand<(MigrationResult | BatchResult)[]>(Commands.BringBackAll, 'lab-a');
    assert.equal(back?.length, 1, 'one batch: one home, one current host');
    const [home] = back as BatchResult[];
    assert.equal(home.ok, true, home.error);
    assert.equal(home.to, 'lab-a');
    for (const p of home.processes) {
      const file = counters.find((c) => evacuation.processes.some((m) => m.sourcePid === c.pid && m.destinationPid === p.sourcePid))!.file;
      assert.ok(await runsOn('lab-a', p.destinationPid!), `PID ${p.destinationPid} does not run on lab-a`);
      await countsOnPast('lab-a', file, counts.get(file)!);
      started.push({ pid: p.destinationPid!, file });
    }
  });
});
