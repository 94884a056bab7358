// The Processes view's "Forwarded Ports" row and one row per forwarded port.
import * as vscode from 'vscode';
import { ItemContext } from '../common/contributions';
import { describeForward, type ActiveForward, type PortForwards } from './portForwards';

export interface ForwardsTreeNode {
  readonly kind: 'forwards';
}

export interface ForwardTreeNode {
  readonly kind: 'forward';
  readonly forward: ActiveForward;
  readonly parent: ForwardsTreeNode;
}

export const FORWARDS_NODE: ForwardsTreeNode = { kind: 'forwards' };

export function forwardNodes(forwards: PortForwards): ForwardTreeNode[] {
  return forwards.list().map((forward) => ({ kind: 'forward', forward, parent: FORWARDS_NODE }));
}

export function forwardsItem(count: number): vscode.TreeItem {
  const item = new vscode.TreeItem('Forwarded Ports', vscode.TreeItemCollapsibleState.Expanded);
  item.id = 'forwards';
  item.description = String(count);
  item.iconPath = new vscode.ThemeIcon('plug');
  item.contextValue = ItemContext.Forwards;
  item.tooltip = 'Ports of migrated processes, still answering on the host they came from.';
  return item;
}

export function forwardItem(f: ActiveForward): vscode.TreeItem {
  const item = new vscode.TreeItem(describeForward(f), vscode.TreeItemCollapsibleState.None);
  item.id = `forward:${f.id}`;
  const connections = f.connections === 1 ? '1 connection' : `${f.connections} connections`;
  item.description = `${f.name ?? 'process'} (PID ${f.pid}) · ${connections}`;
  item.iconPath = new vscode.ThemeIcon('arrow-right');
  item.contextValue = ItemContext.Forward;
  item.tooltip = new vscode.MarkdownString(
    `Connections to 127.0.0.1:${f.port} on **${f.origin}** travel over SSH to port ${f.port} on **${f.destination}**, ` +
      `where ${f.name ?? 'the process'} (PID ${f.pid}) now runs.`,
  );
  item.accessibilityInformation = { label: `${describeForward(f)}, forwarded to ${f.name ?? 'process'} PID ${f.pid}` };
  return item;
}
