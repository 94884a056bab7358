// Evacuate Host… and Bring Back All through the real engine between the lab hosts, started from
// lab-a's row as its context menu does: two tickers move to lab-b and count on from where they
// were (their state moved, they did not start again), the report names them as the evacuation of
// lab-a, and Bring Back All returns them to lab-a, counting on again. lab-a's row shows its
// measured state.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import type { Evacuation } from '../../../src/ui/migrate/evacuateHost';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { activeApi, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;

describeWithLab('Evacuate Host and Bring Back All (lab-a → lab-b → lab-a)', function () {
  this.timeout(300_000);
  // Each lab host has its own /tmp: a ticker writes its count where it runs.
  const files = [1, 2].map((i) => `/tmp/pmtest-evacuate-${i}`);
  const count = async (host: string, file: string) => Number(await labSsh(host, `cat ${file} 2>/dev/null || echo 0`)) || 0;
  const seen: number[] = [];
  let tickers: number[] = [];
  let evacuation: Evacuation | undefined;

  before(async () => {
    for (const host of ['lab-a', 'lab-b']) await labSsh(host, `rm -f ${files.join(' ')}`);
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    tickers = await Promise.all(
      files.map(async (file) => Number(await labSsh('lab-a', `{ setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo $!; }`))),
    );
    seen.push(...tickers);
  });

  after(async () => {
    const pids = seen.join(' ');
    for (const host of ['lab-a', 'lab-b']) await labSsh(host, `for p in ${pids}; do pkill -KILL -P $p; kill -KILL $p; done 2>/dev/null; rm -f ${files.join(' ')}; true`).catch(() => undefined);
  });

  /** Waits for the ticker of `file` on `host` to write again, and returns what it wrote first. */
  async function firstCountAfter(host: string, file: string, previous: number): Promise<number> {
    return until(`the ticker to count on ${host}`, async () => {
      const n = await count(host, file);
      return n > 0 && n !== previous ? n : undefined;
    }, 30_000);
  }

  it("shows lab-a's measured state on its row", async () => {
    const api = await activeApi();
    await api.model.refresh(['lab-a']);
    const row = () => api.tree.getTreeItem(api.tree.hostNode('lab-a'));
    const description = await until('the measured state on the row', () => {
      const d = String(row().description);
      return /^\d+\.\d\/[\d.]+ cores busy · [\d.]+ [KMG]iB free( · \d+ ms)?$/.test(d) ? d : undefined;
    });
    assert.equal(row().label, 'lab-a', 'the label stays the host name');
    const tooltip = (row().tooltip as vscode.MarkdownString).value;
    for (const fact of ['Load per core', 'Disk for images', 'CRIU', 'Architecture']) assert.ok(tooltip.includes(fact), `${fact} missing from the tooltip: ${tooltip}`);
    assert.ok(!description.includes('stale'), description);
  });

  it('evacuates lab-a from its row: the tickers count on on lab-b, the report names them', async () => {
    const api = await activeApi();
    for (const file of files) await until('the ticker to count past 20', async () => (await count('lab-a', file)) > 20 || undefined);
    await api.model.refresh(['lab-a']);

    evacuation = await vscode.commands.executeCommand<Evacuation>(Commands.EvacuateHost, api.tree.hostNode('lab-a'), { to: 'lab-b', pids: tickers });
    assert.ok(evacuation, 'no result');
    assert.equal(evacuation.ok, true, evacuation.error ?? evacuation.results.map((r) => r.error).join(' '));
    assert.deepEqual(evacuation.left, []);
    assert.deepEqual(evacuation.results.map((r) => [r.sourcePid, r.to]).sort(), tickers.map((p) => [p, 'lab-b']).sort());
    for (const [i, pid] of tickers.entries()) {
      const r = evacuation.results.find((m) => m.sourcePid === pid)!;
      seen.push(r.destinationPid!);
      assert.ok(!(await runsOn('lab-a', pid)), `PID ${pid} still runs on lab-a`);
      assert.ok(await runsOn('lab-b', r.destinationPid!), `PID ${r.destinationPid} does not run on lab-b`);
      // The count goes on from where it stopped on lab-a: its state moved, it did not start again.
      const last = await count('lab-a', files[i]);
      const first = await firstCountAfter('lab-b', files[i], 0);
      assert.ok(first >= last, `on lab-b it counts from ${first}, it had reached ${last} on lab-a`);
      await until('the count to grow on lab-b', async () => (await count('lab-b', files[i])) > first || undefined);
    }

    // One batch in the history: the evacuation of lab-a, naming both.
    const entries = api.history.batchOf(api.history.latest()!);
    assert.deepEqual(entries.map((e) => e.result.sourcePid).sort(), [...tickers].sort());
    assert.ok(entries.every((e) => e.result.trigger === 'evacuation of lab-a' && e.name === 'sh'));
    const html = renderReportHtml({ selected: entries[0], batch: entries, history: api.history.entries(), nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /Evacuation of lab-a: 2 moved/);
    for (const pid of tickers) assert.match(html, new RegExp(`sh \\(PID ${pid}\\)`));
    assert.match(html, /data-fact="Started by">evacuation of lab-a</);
    // lab-a's row offers Bring Back All.
    assert.equal(api.tree.getTreeItem(api.tree.hostNode('lab-a')).contextValue, 'host-evacuated');
  });

  it('Bring Back All from lab-a’s row returns them to lab-a, counting on', async function () {
    if (!evacuation?.ok) this.skip(); // the evacuation's failure is reported above
    const api = await activeApi();
    const onB = evacuation.results.map((r) => r.destinationPid!);
    // What each wrote on lab-a before the evacuation, still in lab-a's file.
    const before = await Promise.all(files.map((f) => count('lab-a', f)));
    const results = await vscode.commands.executeCommand<MigrationResult[]>(Commands.BringBackAll, api.tree.hostNode('lab-a'));
    assert.ok(results, 'nothing was brought back');
    assert.deepEqual(results.map((r) => [r.sourcePid, r.ok, r.to]).sort(), onB.map((p) => [p, true, 'lab-a']).sort(), results.map((r) => r.error).join(' '));
    for (const [i, pid] of tickers.entries()) {
      const away = onB[evacuation.results.findIndex((m) => m.sourcePid === pid)];
      const r = results.find((m) => m.sourcePid === away)!;
      seen.push(r.destinationPid!);
      assert.ok(await runsOn('lab-a', r.destinationPid!), `PID ${r.destinationPid} does not run on lab-a`);
      assert.ok(!(await runsOn('lab-b', away)), `PID ${away} still runs on lab-b`);
      const lastOnB = await count('lab-b', files[i]);
      const first = await firstCountAfter('lab-a', files[i], before[i]);
      assert.ok(first >= lastOnB, `back on lab-a it counts from ${first}, it had reached ${lastOnB} on lab-b`);
    }
    const entries = api.history.batchOf(api.history.latest()!);
    assert.equal(entries.length, 2, 'one batch');
    assert.ok(entries.every((e) => e.batchLabel === 'Bring back to lab-a'));
    assert.deepEqual(api.history.evacuatedFrom('lab-a'), []);
    assert.equal(api.tree.getTreeItem(api.tree.hostNode('lab-a')).contextValue, 'host');
  });
});
