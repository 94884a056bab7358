// Stop Forwarding, and the setting that says whether a migration forwards ports at all.
import * as vscode from 'vscode';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import type { ForwardTreeNode } from './forwardItems';
import { describeForward, forwardId, type ForwardSpec, type PortForwards } from './portForwards';

export function forwardPortsEnabled(): boolean {
  return readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'forwardPorts');
}

/** `processMigrator.stopForwarding` (a forward row, `{origin, port}`, or nothing: a picker). */
export function registerPortForwards(context: vscode.ExtensionContext, deps: { forwards: PortForwards }): void {
  const { forwards } = deps;
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.StopForwarding, async (arg?: unknown) => {
      const id = forwardIdOf(arg) ?? (await pickForward(forwards));
      if (!id) return undefined;
      return forwards.stop(id);
    }),
  );
}

function forwardIdOf(arg: unknown): string | undefined {
  if (!arg || typeof arg !== 'object') return undefined;
  const node = arg as Partial<ForwardTreeNode> & Partial<ForwardSpec>;
  if (node.kind === 'forward' && node.forward) return node.forward.id;
  if (typeof node.origin === 'string' && typeof node.port === 'number') return forwardId({ origin: node.origin, port: node.port });
  return undefined;
}

async function pickForward(forwards: PortForwards): Promise<string | undefined> {
  const items = forwards.list().map((f) => ({ label: describeForward(f), description: `${f.name ?? 'process'} (PID ${f.pid})`, id: f.id }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage('No port is forwarded.');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'Stop Forwarding', placeHolder: 'The forward to stop' }))?.id;
}
