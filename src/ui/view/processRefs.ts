// The Processes view's rows as data, and what a command handler makes of its arguments: a row,
// a multi-selection, or a `{host, pid}` from another caller. Host-free: no vscode here.
import type { ForwardsTreeNode, ForwardTreeNode } from '../forwards/forwardItems';
import type { ProcessNode } from '../common/processForest';

export interface HostTreeNode {
  readonly kind: 'host';
  readonly host: string;
}

export interface ProcessTreeNode {
  readonly kind: 'process';
  readonly host: string;
  readonly node: ProcessNode;
  readonly parent: HostTreeNode | ProcessTreeNode;
}

export interface MessageTreeNode {
  readonly kind: 'message';
  readonly host: string;
  readonly text: string;
  readonly parent: HostTreeNode;
}

export type TreeNode = HostTreeNode | ProcessTreeNode | MessageTreeNode | ForwardsTreeNode | ForwardTreeNode;

/** What a command handler receives from a process row or from a caller (tests, other commands). */
export interface ProcessRef {
  host: string;
  pid: number;
}

export function processRefOf(arg: unknown): ProcessRef | undefined {
  if (!arg || typeof arg !== 'object') return undefined;
  const node = arg as Partial<ProcessTreeNode> & Partial<ProcessRef>;
  if (node.kind === 'process' && node.node) return { host: node.host as string, pid: node.node.info.pid };
  if (typeof node.host === 'string' && typeof node.pid === 'number') return { host: node.host, pid: node.pid };
  return undefined;
}

/** The processes a command acts on: VS Code passes (clicked row, selected rows) from a context
 * menu on a multi-selection; callers may pass one ref or an array of them. */
export function selectedRefs(source: unknown, selection?: unknown): ProcessRef[] {
  const all = Array.isArray(selection) && selection.length > 1 ? selection : Array.isArray(source) ? source : [source];
  return all.map(processRefOf).filter((r): r is ProcessRef => r !== undefined);
}

export function hostOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof (arg as { host?: unknown }).host === 'string') return (arg as { host: string }).host;
  return undefined;
}
