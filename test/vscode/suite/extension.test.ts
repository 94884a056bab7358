import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { Commands, EXTENSION_ID, MIGRATION_READY_PROFILE, SETTING_DEFAULTS, fullSettingKey, type SettingKey } from '../../../src/ui/common/contributions';
import { findProcess } from '../../../src/ui/common/processForest';
import type { HostTreeNode, ProcessTreeNode, TreeNode } from '../../../src/ui/view/processRefs';
import { activeApi, spawnMarker, until } from './helpers';

interface Manifest {
  contributes: {
    commands: { command: string }[];
    configuration: { properties: Record<string, { default: unknown }> };
    terminal: { profiles: { id: string; title: string }[] };
  };
  extensionKind: string[];
}

describe('Extension', () => {
  it('activates and registers every command it contributes', async () => {
    await activeApi();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.equal(ext.isActive, true);
    const manifest = ext.packageJSON as Manifest;
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = manifest.contributes.commands.map((c) => c.command);
    assert.ok(contributed.length >= 5);
    for (const id of contributed) assert.ok(registered.has(id), `command ${id} is not registered`);
    for (const id of [Commands.Migrate, Commands.CheckHost, Commands.AddHost, Commands.Refresh, Commands.ShowReport]) {
      assert.ok(contributed.includes(id), `${id} is not in package.json`);
    }
  });

  it('runs in the workspace extension host and contributes every setting it reads', () => {
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as Manifest;
    assert.deepEqual(manifest.extensionKind, ['workspace']);
    for (const key of Object.keys(SETTING_DEFAULTS) as SettingKey[]) {
      assert.ok(manifest.contributes.configuration.properties[fullSettingKey(key)], `setting ${key} is not contributed`);
    }
    assert.deepEqual(manifest.contributes.terminal.profiles.map(({ id, title }) => ({ id, title })), [MIGRATION_READY_PROFILE]);
  });
});

describe('Processes view (real engine, local host)', () => {
  let marker: ReturnType<typeof spawnMarker>;
  before(() => {
    marker = spawnMarker();
  });
  after(async () => {
    marker.kill('SIGKILL');
    const api = await activeApi();
    api.model.setFilter({ text: '', onlyMine: false, hideSystem: false });
  });

  it('lists local first and the process this test started under it', async () => {
    const api = await activeApi();
    const roots = await api.tree.getChildren();
    assert.ok(roots.length >= 1);
    const local = roots[0] as HostTreeNode;
    assert.equal(local.kind, 'host');
    assert.equal(local.host, 'local');

    await api.model.refresh(['local']);
    const pid = marker.pid!;
    const node = await until('the marker process in the model', () => findProcess(api.model.forest('local'), pid));
    assert.equal(node.info.name, 'pmtest-sleep');
    assert.equal(node.mine, true);

    const hostItem = api.tree.getTreeItem(local);
    assert.equal(hostItem.label, 'local');
    // The process count, or the measured state once the host was probed.
    assert.match(String(hostItem.description), /\d+ processes|cores busy/);

    // With a text filter the match is a direct child of the host, as the user sees it.
    await vscode.commands.executeCommand(Commands.Filter, 'pmtest-sleep');
    const children = (await api.tree.getChildren(local)) as TreeNode[];
    const row = children.find((c): c is ProcessTreeNode => c.kind === 'process' && c.node.info.pid === pid);
    assert.ok(row, `PID ${pid} is not under local: ${children.map((c) => c.kind).join(',')}`);
    const item = api.tree.getTreeItem(row);
    assert.equal(item.label, 'pmtest-sleep');
    assert.match(String(item.description), new RegExp(`^PID ${pid} · `));
    assert.equal(item.contextValue, 'process');
  });

  it('checks the local host: reachable, with capabilities', async () => {
    const api = await activeApi();
    const report = await vscode.commands.executeCommand<{ reachable: boolean; capabilities?: { cpus: number } }>(Commands.CheckHost, 'local');
    assert.equal(report?.reachable, true, JSON.stringify(report));
    assert.ok((report?.capabilities?.cpus ?? 0) >= 1);
    const item = api.tree.getTreeItem(api.tree.hostNode('local'));
    assert.match(String(item.description), /load \d|cores busy/);
  });

  it('shows the hosts of the ssh config and of the setting after local', async () => {
    const api = await activeApi();
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'pm-sshcfg-'));
    const file = join(dir, 'config');
    writeFileSync(file, 'Host alpha\n  HostName 127.0.0.1\nHost beta gamma\n  HostName 127.0.0.1\nHost *\n  User nobody\n');
    const config = vscode.workspace.getConfiguration('processMigrator');
    const before = { file: config.inspect('sshConfigFile')?.workspaceValue, hosts: config.inspect('hosts')?.workspaceValue };
    try {
      await config.update('sshConfigFile', file, vscode.ConfigurationTarget.Workspace);
      await config.update('hosts', ['delta', 'alpha'], vscode.ConfigurationTarget.Workspace);
      await until('the new host list', () => api.model.hostNames().includes('delta') || undefined);
      assert.deepEqual(api.model.hostNames(), ['local', 'alpha', 'beta', 'gamma', 'delta']);
      const roots = (await api.tree.getChildren()) as HostTreeNode[];
      assert.deepEqual(roots.map((r) => r.host), ['local', 'alpha', 'beta', 'gamma', 'delta']);
    } finally {
      await config.update('sshConfigFile', before.file, vscode.ConfigurationTarget.Workspace);
      await config.update('hosts', before.hosts, vscode.ConfigurationTarget.Workspace);
    }
  });
});
