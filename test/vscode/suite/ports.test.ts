// Forwarded ports and Bring Back, with the real engine: a Node HTTP server with an in-memory counter
// on this machine (where the extension host runs) moves to lab-b; localhost:PORT here keeps serving
// it through the forward, the counter continuing; Stop Forwarding and Bring Back end the forward, and
// back home the server answers on its own port with the counter still continuing.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import * as vscode from 'vscode';
import type { MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import type { ForwardTreeNode } from '../../../src/ui/forwards/forwardItems';
import type { ProcessTreeNode, TreeNode } from '../../../src/ui/view/processRefs';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { activeApi, alive, labSsh, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;

/** GET http://127.0.0.1:PORT/ on this machine, one connection per request (no keep-alive). */
function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET 127.0.0.1:${port} timed out`)));
    req.on('error', reject);
  });
}

describeWithLab('Forwarded ports and Bring Back (local ⇄ lab-b)', function () {
  this.timeout(240_000);
  const port = 18000 + (process.pid % 1000);
  // The system's node: the lab hosts share this machine's /usr (not the test's own Node under /tmp).
  const node = existsSync('/usr/bin/node') ? '/usr/bin/node' : 'node';
  let pid = 0;

  before(async () => {
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    const server = `let n = 0; require('http').createServer((q, r) => r.end(String(++n))).listen(${port}, '127.0.0.1')`;
    // Through bash closing every inherited descriptor above 2: the extension host leaks some (pipes
    // to VS Code's server) that a process started from a terminal would not have.
    const closeInherited = 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null';
    const child = spawn('bash', ['-c', `${closeInherited}; exec ${node} -e "$0"`, server], { cwd: '/', stdio: 'ignore', detached: true });
    child.unref();
    pid = child.pid!;
    await until('the server to answer', () => get(port).then(() => true, () => undefined));
  });

  after(async () => {
    const api = await activeApi();
    for (const f of api.forwards.list()) await api.forwards.stop(f.id);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    await labSsh('lab-b', `kill -9 ${pid} 2>/dev/null; true`).catch(() => undefined);
  });

  const migratedRow = async (host: string): Promise<ProcessTreeNode | undefined> => {
    const api = await activeApi();
    const rows = (await api.tree.getChildren(api.tree.hostNode(host))) as TreeNode[];
    return rows.find((r): r is ProcessTreeNode => r.kind === 'process' && r.node.info.pid === pid);
  };

  it('forwards localhost:PORT to the server on lab-b, shows it, and Bring Back ends the forward and moves it home', async () => {
    const api = await activeApi();
    assert.equal(await get(port), '2', 'counted once while waiting for it');
    await api.model.refresh(['local']);

    const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'local', pid }, 'lab-b');
    assert.equal(result?.ok, true, result?.error);
    assert.deepEqual(result.listeningPorts, [port]);
    assert.ok(!alive(pid), 'the original still runs here');

    // The same server answers here through the forward, and directly on lab-b: one counter.
    assert.equal(await get(port), '3', 'localhost:PORT reaches the server now on lab-b');
    assert.equal(await labSsh('lab-b', `curl -s --max-time 5 http://127.0.0.1:${port}/`), '4');
    assert.equal(await get(port), '5');

    // Shown in the tree: "Forwarded Ports" → localhost:PORT → lab-b:PORT, and the process on lab-b says where from.
    const roots = (await api.tree.getChildren()) as TreeNode[];
    const forwardsNode = roots.find((r) => r.kind === 'forwards');
    assert.ok(forwardsNode, `no Forwarded Ports node: ${roots.map((r) => r.kind).join(',')}`);
    const [forward] = (await api.tree.getChildren(forwardsNode)) as ForwardTreeNode[];
    const forwardItem = api.tree.getTreeItem(forward);
    assert.equal(forwardItem.label, `localhost:${port} → lab-b:${port}`);
    assert.equal(forwardItem.contextValue, 'forward');
    assert.match(String(forwardItem.description), /2 connections/);
    await api.model.setFilter({ text: `${pid}` });
    const row = await until('the server under lab-b', () => migratedRow('lab-b'));
    const rowItem = api.tree.getTreeItem(row);
    assert.equal(rowItem.contextValue, 'process-migrated');
    assert.match(String(rowItem.description), new RegExp(`from local · localhost:${port} forwarded`));

    // In the report.
    const entry = api.history.latest()!;
    assert.deepEqual(entry.forwards, [{ port }]);
    const html = renderReportHtml({ selected: entry, history: [entry], nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.ok(html.includes(`forwarded: localhost:${port} → lab-b:${port}`), 'the report shows the forward');

    // Bring Back (the process row's context menu passes the row).
    const back = await vscode.commands.executeCommand<MigrationResult>(Commands.BringBack, row);
    assert.equal(back?.ok, true, back?.error);
    assert.equal(back.to, 'local');
    assert.ok(alive(back.destinationPid!), 'the server runs here again');
    assert.equal(api.forwards.list().length, 0, 'the forward is gone');
    assert.equal(await get(port), '6', 'back home, the counter continues');
    assert.equal(api.history.latest()?.forwards, undefined, 'nothing is forwarded from lab-b after a Bring Back');
    pid = back.destinationPid!;
  });

  it('Stop Forwarding on the forward row frees localhost:PORT; the server keeps counting on lab-b, and comes home', async () => {
    const api = await activeApi();
    await api.model.refresh(['local']);
    const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'local', pid }, 'lab-b');
    assert.equal(result?.ok, true, result?.error);
    assert.equal(await get(port), '7');

    const roots = (await api.tree.getChildren()) as TreeNode[];
    const [forward] = (await api.tree.getChildren(roots.find((r) => r.kind === 'forwards'))) as ForwardTreeNode[];
    await vscode.commands.executeCommand(Commands.StopForwarding, forward);
    assert.equal(api.forwards.list().length, 0);
    assert.equal((await api.tree.getChildren()).some((r) => r.kind === 'forwards'), false, 'the Forwarded Ports node is gone');
    await assert.rejects(get(port), 'nothing answers on localhost:PORT any more');
    assert.equal(await labSsh('lab-b', `curl -s --max-time 5 http://127.0.0.1:${port}/`), '8');

    const back = await vscode.commands.executeCommand<MigrationResult>(Commands.BringBack, { host: 'lab-b', pid: result.destinationPid });
    assert.equal(back?.ok, true, back?.error);
    assert.equal(await get(port), '9');
    pid = back.destinationPid!;
    await api.model.setFilter({ text: '' });
  });
});
