// View logic against a fake engine: what the tree shows for given hosts and processes.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { HostReport, MigrationRequest } from '../../../src/migration/api';
import { buildProcessForest } from '../../../src/ui/common/processForest';
import { ProcessModel } from '../../../src/ui/view/processModel';
import type { HostTreeNode, ProcessTreeNode, TreeNode } from '../../../src/ui/view/processRefs';
import { DRAG_MIME, ProcessTreeProvider } from '../../../src/ui/view/processTree';
import { FakeEngine, proc } from './fakeEngine';

const ME = 1000;
const localProcesses = [
  proc(1, 0, 0, 'systemd'),
  proc(2, 0, 0, 'kthreadd', { command: '[kthreadd]' }),
  proc(50, 2, 0, 'kworker/0:1', { command: '[kworker/0:1]' }),
  proc(300, 1, 0, 'sshd'),
  proc(400, 300, ME, 'sshd'),
  proc(401, 400, ME, 'bash', { tty: 'pts/0' }),
  proc(402, 401, ME, 'node', { command: 'node server.js' }),
  proc(500, 1, 33, 'nginx'),
  proc(600, 1, 1001, 'python3', { command: 'python3 other-user.py' }),
];

const labReport: HostReport = {
  host: 'lab-a',
  reachable: true,
  problems: ['userfaultfd is off on lab-a: post-copy is not available; set vm.unprivileged_userfaultfd=1.'],
  capabilities: {
    host: 'lab-a', hostname: 'lab-a', criuVersion: '4.2.1', kernel: '6.1.0', arch: 'x86_64', cpus: 2, load1: 0.25,
    memAvailableKiB: 3 * 1024 * 1024, diskAvailableKiB: 10 * 1024 * 1024, imagesDir: '/var/tmp', privilege: 'root',
    features: {}, pipeMaxSize: 1 << 20,
  },
};

function setup() {
  const engine = new FakeEngine(
    { local: localProcesses, 'lab-a': [proc(10, 1, ME, 'worker')], down: new Error('Cannot connect to down: connection refused; is sshd running?') },
    { 'lab-a': labReport },
  );
  const model = new ProcessModel({ engine, listHosts: () => ['lab-a', 'down', 'local', 'lab-a'], myUid: ME });
  const migrations: Omit<MigrationRequest, 'strategy'>[] = [];
  const tree = new ProcessTreeProvider(model, async (r) => migrations.push(r));
  return { engine, model, tree, migrations };
}

async function childrenOf(tree: ProcessTreeProvider, node: TreeNode): Promise<ProcessTreeNode[]> {
  return (await tree.getChildren(node)).filter((n): n is ProcessTreeNode => n.kind === 'process');
}

describe('Processes view (fake engine)', () => {
  it('lists local first, without duplicates', async () => {
    const { tree } = setup();
    const roots = (await tree.getChildren()) as HostTreeNode[];
    assert.deepEqual(roots.map((r) => r.host), ['local', 'lab-a', 'down']);
    assert.equal(tree.getTreeItem(roots[0]).collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
    assert.equal(tree.getTreeItem(roots[1]).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
  });

  it("puts the user's own session trees first and nests children", async () => {
    const { tree } = setup();
    const top = await childrenOf(tree, tree.hostNode('local'));
    assert.equal(top[0].node.info.pid, 400, 'my sshd session starts the list');
    assert.ok(top.slice(1).every((n) => !n.node.mine));
    const bash = await childrenOf(tree, top[0]);
    assert.deepEqual(bash.map((n) => n.node.info.name), ['bash']);
    const item = tree.getTreeItem(bash[0]);
    assert.equal(item.contextValue, 'process');
    assert.equal(item.description, 'PID 401 · 0.5% · 2.0 MiB');
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    assert.equal(tree.getParent(bash[0]), top[0]);
  });

  it('filters: text (flat), only mine, hide system', async () => {
    const { tree, model } = setup();
    await tree.getChildren(tree.hostNode('local'));
    model.setFilter({ text: 'node' });
    assert.deepEqual((await childrenOf(tree, tree.hostNode('local'))).map((n) => n.node.info.pid), [402]);
    model.setFilter({ text: '', onlyMine: true });
    assert.deepEqual(buildProcessForest(localProcesses, ME, model.filter).map((n) => n.info.pid), [400]);
    model.setFilter({ onlyMine: false, hideSystem: true });
    const pids = (await childrenOf(tree, tree.hostNode('local'))).map((n) => n.node.info.pid);
    assert.deepEqual(pids, [400, 600], 'root, www-data and kernel threads are hidden; other users stay');
    model.setFilter({ hideSystem: false, text: 'no-such-process' });
    const [message] = await tree.getChildren(tree.hostNode('local'));
    assert.equal(message.kind, 'message');
    assert.equal(tree.getTreeItem(message).label, 'No process matches the filter.');
  });

  it('shows an unreachable host with the engine’s sentence', async () => {
    const { tree } = setup();
    const [message] = await tree.getChildren(tree.hostNode('down'));
    assert.equal(message.kind, 'message');
    assert.match(String(tree.getTreeItem(message).label), /connection refused/);
    const host = tree.getTreeItem(tree.hostNode('down'));
    assert.equal(host.description, 'unreachable');
    assert.equal(host.contextValue, 'host-unreachable');
  });

  it('shows CRIU version, load, free memory and problems once checked', async () => {
    const { tree, model } = setup();
    const changes: (TreeNode | undefined)[] = [];
    tree.onDidChangeTreeData((n) => changes.push(n ?? undefined));
    await model.check('lab-a');
    const item = tree.getTreeItem(tree.hostNode('lab-a'));
    assert.equal(item.description, 'CRIU 4.2.1 · load 0.25/2 · 3.0 GiB free · 1 problem');
    assert.ok(changes.includes(tree.hostNode('lab-a')), 'the host row was refreshed');
    const tooltip = item.tooltip as vscode.MarkdownString;
    assert.match(tooltip.value, /userfaultfd is off/);
  });

  it('migrates a process dropped on another host, and ignores a drop on its own host', async () => {
    const { tree, migrations } = setup();
    const [session] = await childrenOf(tree, tree.hostNode('local'));
    const transfer = new vscode.DataTransfer();
    await tree.handleDrag([session], transfer);
    assert.ok(transfer.get(DRAG_MIME));
    await tree.handleDrop(tree.hostNode('local'), transfer);
    assert.equal(migrations.length, 0);
    await tree.handleDrop(tree.hostNode('lab-a'), transfer);
    assert.deepEqual(migrations, [{ pid: 400, from: 'local', to: 'lab-a' }]);
  });
});
