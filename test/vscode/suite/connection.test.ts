// A dropped SSH connection shows on the host's row of the extension's own Processes view, and the
// next action reconnects. The server is a throwaway sshd of this test's own (the lab's sshd is
// shared with other tests and is never restarted here), killed with its connections, as a crashed
// or restarted server is, then started again on the same port.
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { Commands, SETTINGS_SECTION } from '../../../src/ui/common/contributions';
import type { TreeNode } from '../../../src/ui/view/processRefs';
import { startThrowawaySshd, type ThrowawaySshd } from '../throwawaySshd';
import { activeApi, until } from './helpers';

const ALIAS = 'pm-dropped';

/** A reachable row: its process count (with why it is not measured, when a probe failed while
 * the server was away), or its measured state once probed. */
const LISTED = /^(\d+ processes( · \(stale: .+\))?|[\d.]+\/[\d.]+ cores busy · .+)$/;

describe('Connection state in the Processes view (a real sshd that goes away)', function () {
  this.timeout(120_000);
  let sshd: ThrowawaySshd;
  let previous: string | undefined;
  const settings = () => vscode.workspace.getConfiguration(SETTINGS_SECTION);

  before(async () => {
    delete process.env.SSH_AUTH_SOCK; // only the test's own key
    sshd = await startThrowawaySshd([ALIAS], { passphrase: '' });
    const known = sshd.knownHosts(ALIAS);
    mkdirSync(dirname(known), { recursive: true });
    writeFileSync(known, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    // The extension's own engine and view read this ssh_config from now on.
    previous = settings().inspect<string>('sshConfigFile')?.workspaceValue;
    await settings().update('sshConfigFile', sshd.sshConfig, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    await settings().update('sshConfigFile', previous, vscode.ConfigurationTarget.Workspace);
    await sshd?.stop();
  });

  it('shows "disconnected" on the host row with why, and reconnects on refresh, expand and check', async () => {
    const { model, tree } = await activeApi();
    await until('the host is listed', () => model.hostNames().includes(ALIAS) || undefined);
    const host = tree.hostNode(ALIAS);
    const row = () => tree.getTreeItem(host);
    const state = () => model.host(ALIAS)!;
    const changes: (TreeNode | undefined)[] = [];
    const subscription = tree.onDidChangeTreeData((n) => changes.push(n ?? undefined));
    try {
      const listed = (await tree.getChildren(host)).filter((n) => n.kind === 'process');
      assert.ok(listed.length > 0, `processes of ${ALIAS}: ${state().error ?? ''}`);
      assert.match(String(row().description), LISTED);

      // The server goes away: the row says so, and what it showed stays.
      await sshd.interrupt();
      await until('the row shows the drop', () => row().description === 'disconnected' || undefined);
      const item = row();
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'debug-disconnect');
      assert.equal(item.contextValue, 'host');
      const tooltip = (item.tooltip as vscode.MarkdownString).value;
      assert.match(tooltip, /disconnected/);
      assert.match(tooltip, /The SSH connection to pm\\-dropped dropped at .*It reconnects on the next refresh, expand, check or migration\\\./s);
      assert.ok(changes.includes(host), 'the host row was refreshed');
      // Drawn again (VS Code asks for the children of an expanded row): no reconnect.
      assert.equal((await tree.getChildren(host)).filter((n) => n.kind === 'process').length, listed.length);
      assert.equal(state().reachability, 'disconnected');

      // Refresh while it is down: unreachable, with the transport's sentence.
      await vscode.commands.executeCommand(Commands.Refresh);
      assert.equal(row().description, 'unreachable');
      const [message] = await tree.getChildren(host);
      assert.equal(message.kind, 'message');
      assert.match(String(tree.getTreeItem(message).label), new RegExp(ALIAS));

      // Back: the next refresh connects again.
      await sshd.resume();
      await vscode.commands.executeCommand(Commands.Refresh);
      assert.equal(state().reachability, 'reachable', state().error);
      assert.match(String(row().description), LISTED);

      // A restart (down and up again before anyone looks): expanding the row reconnects.
      await sshd.interrupt();
      await until('the drop shows', () => state().reachability === 'disconnected' || undefined);
      await sshd.resume();
      tree.expanded(host); // what the view's onDidExpandElement calls
      await until('expanding reconnects', () => (state().reachability === 'reachable' && state().processes?.length) || undefined);
      assert.match(String(row().description), LISTED);

      // And Check Host (as a migration, any call through the engine) reconnects too.
      await sshd.interrupt();
      await until('the drop shows', () => state().reachability === 'disconnected' || undefined);
      await sshd.resume();
      const report = (await vscode.commands.executeCommand(Commands.CheckHost, ALIAS)) as { reachable: boolean };
      assert.equal(report.reachable, true);
      assert.equal(state().reachability, 'reachable');
      assert.doesNotMatch(String(row().description), /disconnected/);
    } finally {
      subscription.dispose();
    }
  });
});
