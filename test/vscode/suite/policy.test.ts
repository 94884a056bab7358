// Policies through the real engine: processMigrator.policies watches lab-a; of two tickers there
// one is marked with Allow Automatic Moves (its row says so); two CPU burners make lab-a busy; the
// extension's watcher moves the marked ticker to lab-b, where it counts on from where it was (its
// state moved, it did not start again) and stays marked under its new PID; the unmarked ticker
// runs on on lab-a; the history and the report have the move with the policy's trigger.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { WatchEvent } from '../../../src/automatic/watch';
import { Commands } from '../../../src/ui/common/contributions';
import type { ProcessRef, TreeNode } from '../../../src/ui/view/processRefs';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { activeApi, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;
const TRIGGER = /^policy busy-host: lab-a (used [\d.]+ of [\d.]+ cores|'s load was [\d.]+ per core) for \d+ s \(above 0.5 per core\)$/;

describeWithLab('Policies (a busy lab-a moves the marked ticker to lab-b)', function () {
  this.timeout(300_000);
  // Each lab host has its own /tmp: a ticker writes its count where it runs.
  const markedFile = '/tmp/pmtest-policy-marked';
  const unmarkedFile = '/tmp/pmtest-policy-unmarked';
  const count = async (host: string, file: string) => Number(await labSsh(host, `cat ${file} 2>/dev/null || echo 0`)) || 0;
  const start = async (command: string) => Number(await labSsh('lab-a', `{ setsid ${command} </dev/null >/dev/null 2>&1 & echo $!; }`));
  const ticker = (file: string) => start(`sh -c 'i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.1; done'`);
  const seen: number[] = [];
  let marked = 0;
  let unmarked = 0;
  const events: WatchEvent[] = [];
  let listening: vscode.Disposable | undefined;

  before(async () => {
    for (const host of ['lab-a', 'lab-b']) await labSsh(host, `rm -f ${markedFile} ${unmarkedFile}`);
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    [marked, unmarked] = [await ticker(markedFile), await ticker(unmarkedFile)];
    seen.push(marked, unmarked);
  });

  after(async () => {
    listening?.dispose();
    const api = await activeApi();
    await vscode.workspace.getConfiguration('processMigrator').update('policies', undefined, vscode.ConfigurationTarget.Workspace);
    await api.marks.disallow(api.marks.list());
    const pids = seen.join(' ');
    for (const host of ['lab-a', 'lab-b']) {
      await labSsh(host, `for p in ${pids}; do pkill -KILL -P $p; kill -KILL $p; done 2>/dev/null; rm -f ${markedFile} ${unmarkedFile}; true`).catch(() => undefined);
    }
  });

  /** The row of `pid` on `host`, wherever it sits in the host's tree. */
  async function rowOf(host: string, pid: number): Promise<vscode.TreeItem | undefined> {
    const api = await activeApi();
    await api.model.loadProcesses(host, true);
    const walk = async (nodes: TreeNode[]): Promise<TreeNode | undefined> => {
      for (const n of nodes) {
        if (n.kind !== 'process') continue;
        if (n.node.info.pid === pid) return n;
        const below = await walk(await api.tree.getChildren(n));
        if (below) return below;
      }
      return undefined;
    };
    const node = await walk(await api.tree.getChildren(api.tree.hostNode(host)));
    return node && api.tree.getTreeItem(node);
  }

  it('moves the marked ticker off the busy lab-a to lab-b, counting on; the unmarked stays; the history has the trigger', async () => {
    const api = await activeApi();
    listening = api.policies.onDidEvent((e) => events.push(e));
    const said = () => events.map((e) => `${e.event}: ${e.message}`).join('\n');
    for (const file of [markedFile, unmarkedFile]) await until('the ticker to count past 10', async () => (await count('lab-a', file)) > 10 || undefined);

    await vscode.workspace.getConfiguration('processMigrator').update(
      'policies',
      { rules: [{ name: 'busy-host', hosts: ['lab-a'], when: { cpuPerCoreAbove: 0.5 }, forSeconds: 3, move: 'marked', to: 'auto', among: ['lab-b'] }], minSecondsBetweenMoves: 60 },
      vscode.ConfigurationTarget.Workspace,
    );
    await api.model.loadProcesses('lab-a', true);
    const refs = await vscode.commands.executeCommand<ProcessRef[]>(Commands.AllowAutomaticMoves, { host: 'lab-a', pid: marked });
    assert.deepEqual(refs, [{ host: 'lab-a', pid: marked }]);
    assert.deepEqual(api.marks.list().map((m) => [m.host, m.pid]), [['lab-a', marked]]);
    const row = await rowOf('lab-a', marked);
    assert.equal(row?.contextValue, 'process-marked');
    assert.match(String(row?.description), /auto-move$/);
    assert.match((row?.tooltip as vscode.MarkdownString).value, /Automatic moves allowed/);
    assert.equal((await rowOf('lab-a', unmarked))?.contextValue, 'process', 'the unmarked row is not marked');
    await until('the policy watcher to run', () => api.policies.active || undefined);

    // Two burners: lab-a's cgroup uses its cores.
    seen.push(await start(`sh -c 'while :; do :; done'`), await start(`sh -c 'while :; do :; done'`));
    const entry = await until(
      'the automatic move in the history',
      () => api.history.entries().find((e) => e.result.sourcePid === marked && e.result.from === 'lab-a' && e.result.trigger?.startsWith('policy busy-host')),
      180_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${said()}`));
    const r = entry.result;
    assert.equal(r.ok, true, `${r.error}\n${said()}`);
    assert.equal(r.to, 'lab-b');
    assert.match(r.trigger ?? '', TRIGGER);
    seen.push(r.destinationPid!);
    assert.ok(events.some((e) => e.event === 'moved' && e.pid === marked), said());
    assert.ok(!events.some((e) => (e.event === 'moved' || e.event === 'not-moved') && e.pid === unmarked), 'the unmarked ticker was never touched');

    // Its state came along: the count goes on on lab-b from where it was on lab-a.
    assert.ok(!(await runsOn('lab-a', marked)), `PID ${marked} still runs on lab-a`);
    assert.ok(await runsOn('lab-b', r.destinationPid!), `PID ${r.destinationPid} does not run on lab-b`);
    const lastOnA = await count('lab-a', markedFile);
    const first = await until('the ticker to count on lab-b', async () => (await count('lab-b', markedFile)) || undefined, 30_000);
    assert.ok(first >= lastOnA, `on lab-b it counts from ${first}, it had reached ${lastOnA} on lab-a`);
    await until('the count to grow on lab-b', async () => (await count('lab-b', markedFile)) > first || undefined);

    // The unmarked ticker runs on on lab-a.
    assert.ok(await runsOn('lab-a', unmarked), 'the unmarked ticker stopped');
    const atA = await count('lab-a', unmarkedFile);
    await until('the unmarked ticker to count on on lab-a', async () => (await count('lab-a', unmarkedFile)) > atA || undefined);

    // Still marked, under its new host and PID; its row says it came from lab-a.
    assert.deepEqual(api.marks.list().map((m) => [m.host, m.pid]), [['lab-b', r.destinationPid]]);
    assert.equal((await rowOf('lab-b', r.destinationPid!))?.contextValue, 'process-migrated-marked');
    const html = renderReportHtml({ selected: entry, batch: [entry], history: api.history.entries(), nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /data-fact="Started by">policy busy-host: lab-a/);
  });
});
