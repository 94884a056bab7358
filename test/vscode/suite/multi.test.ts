// Several processes in one request, with the real engine between the lab hosts: a selection passed
// to Migrate Process, and several rows dropped on a host, each end as one migrateMany with one
// history batch; the strategy setting is honoured and the report says it was requested.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BatchResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import type { ProcessTreeNode, TreeNode } from '../../../src/ui/view/processRefs';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { activeApi, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;

describeWithLab('Several processes at once (lab-a → lab-b)', function () {
  this.timeout(240_000);
  const program = '/tmp/pmtest-multi';
  const start = async () => Number(await labSsh('lab-a', `{ setsid ${program} 900 </dev/null >/dev/null 2>&1 & echo $!; }`));
  const started: number[] = [];

  before(async () => {
    for (const host of ['lab-a', 'lab-b']) await labSsh(host, `[ -x ${program} ] || cp /bin/sleep ${program}`);
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    const config = vscode.workspace.getConfiguration('processMigrator');
    await config.update('strategy', undefined, vscode.ConfigurationTarget.Workspace);
    (await activeApi()).model.setFilter({ text: '' });
    for (const host of ['lab-a', 'lab-b']) await labSsh(host, `kill ${started.join(' ')} 2>/dev/null; true`).catch(() => undefined);
  });

  it('moves three selected processes in one request, with the strategy of the setting', async () => {
    const api = await activeApi();
    await vscode.workspace.getConfiguration('processMigrator').update('strategy', 'stop-and-copy', vscode.ConfigurationTarget.Workspace);
    const pids = [await start(), await start(), await start()];
    started.push(...pids);
    await api.model.refresh(['lab-a']);

    const selection = pids.map((pid) => ({ host: 'lab-a', pid }));
    const batch = await vscode.commands.executeCommand<BatchResult>(Commands.Migrate, selection, 'lab-b');
    assert.equal(batch?.ok, true, batch?.error);
    assert.deepEqual(batch.processes.map((p) => p.sourcePid).sort(), [...pids].sort());
    for (const p of batch.processes) {
      assert.ok(await runsOn('lab-b', p.destinationPid!), `PID ${p.destinationPid} does not run on lab-b`);
      assert.ok(!(await runsOn('lab-a', p.sourcePid)), `PID ${p.sourcePid} still runs on lab-a`);
      assert.equal(p.strategy, 'stop-and-copy');
    }

    // One batch in the history, and its report lists all three with the requested strategy.
    const latest = api.history.latest()!;
    const entries = api.history.batchOf(latest);
    assert.equal(entries.length, 3);
    assert.ok(entries.every((e) => e.requestedStrategy === 'stop-and-copy'));
    const html = renderReportHtml({ selected: entries[0], batch: entries, history: entries, nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /Moved together \(3 processes\)/);
    assert.match(html, /stop-and-copy — stop-and-copy was requested/);
  });

  it('moves several rows dropped on lab-b in one request', async () => {
    const api = await activeApi();
    const pids = [await start(), await start()];
    started.push(...pids);
    await api.model.refresh(['lab-a']);
    api.model.setFilter({ text: 'pmtest-multi' });
    const rows = await until('both processes under lab-a', async () => {
      const children = (await api.tree.getChildren(api.tree.hostNode('lab-a'))) as TreeNode[];
      const found = children.filter((c): c is ProcessTreeNode => c.kind === 'process' && pids.includes(c.node.info.pid));
      return found.length === 2 ? found : undefined;
    });
    const transfer = new vscode.DataTransfer();
    await api.tree.handleDrag(rows, transfer);
    await api.tree.handleDrop(api.tree.hostNode('lab-b'), transfer);

    const entries = api.history.batchOf(api.history.latest()!);
    assert.deepEqual(entries.map((e) => e.result.sourcePid).sort(), [...pids].sort(), 'one batch of both');
    for (const e of entries) {
      assert.equal(e.result.ok, true, e.result.error);
      assert.ok(await runsOn('lab-b', e.result.destinationPid!), `PID ${e.result.destinationPid} does not run on lab-b`);
    }
    // Both now show under lab-b as arrived from lab-a.
    const underB = await until('both processes under lab-b', async () => {
      const children = (await api.tree.getChildren(api.tree.hostNode('lab-b'))) as TreeNode[];
      const found = children.filter((c): c is ProcessTreeNode => c.kind === 'process' && pids.includes(c.node.info.pid));
      return found.length === 2 ? found : undefined;
    });
    for (const row of underB) assert.match(String(api.tree.getTreeItem(row).description), /from lab-a/);
  });
});
