// Automatic destinations with the real engine between the lab hosts: Migrate to Best Host moves a
// counter from lab-a to lab-b (the only other candidate it is given), where it counts on from where
// it was; Evacuate Host moves the chosen counters off lab-a in one batch, and Bring Back All
// returns them. Each counter is a shell loop writing its count, held in memory, to a file in the
// host's own /tmp: a restart would count from 1 again.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BatchResult, EvacuationResult, MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { activeApi, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

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
    counter.pid = result.destinationPid!; // for `after`, on lab-b now
    started.push({ pid: result.destinationPid!, file: counter.file });

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
