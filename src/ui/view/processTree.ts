// The Processes view: maps the model's hosts and process trees to tree items, lets the user drag a
// process onto another host, and keeps the view's filter and auto-refresh. No I/O of its own.
import * as vscode from 'vscode';
import type { BatchRequest, MigrationRequest, ProcessInfo } from '../../migration/api';
import {
  Commands,
  ContextKeys,
  fullSettingKey,
  ItemContext,
  readSetting,
  SETTINGS_SECTION,
  Views,
} from '../common/contributions';
import type { HistoryEntry, MigrationHistory } from '../report/history';
import { FORWARDS_NODE, forwardItem, forwardNodes, forwardsItem, type ForwardsTreeNode, type ForwardTreeNode } from '../forwards/forwardItems';
import { forwardedPortsText, type PortForwards } from '../forwards/portForwards';
import { describeProcess, formatKiB, isFilterActive, isKernelThread, type ProcessNode } from '../common/processForest';
import { LOCAL_HOST, type HostState, type ProcessModel } from './processModel';
import { workspaceOwners, type WorkspaceOwner } from './workspaceProcesses';

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

/** The MIME type VS Code gives drags from this view (`application/vnd.code.tree.<view id lowercased>`). */
export const DRAG_MIME = `application/vnd.code.tree.${Views.Processes.toLowerCase()}`;

export class ProcessTreeProvider
  implements vscode.TreeDataProvider<TreeNode>, vscode.TreeDragAndDropController<TreeNode>, vscode.Disposable
{
  private readonly changeEmitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  readonly dragMimeTypes = [DRAG_MIME];
  readonly dropMimeTypes = [DRAG_MIME];
  private readonly hostNodes = new Map<string, HostTreeNode>();
  private readonly subscriptions: { dispose(): void }[];
  /** Local processes started from this workspace (its terminals…), by PID. */
  private owners = new Map<number, WorkspaceOwner>();

  constructor(
    private readonly model: ProcessModel,
    private readonly migrate: (request: Omit<MigrationRequest, 'strategy'>) => Thenable<unknown>,
    private readonly extras: TreeExtras = {},
  ) {
    this.subscriptions = [
      model.onDidChange((host) => this.changeEmitter.fire(host === undefined ? undefined : this.hostNode(host))),
      // Forwards and arrivals show on the root and on the rows of migrated processes.
      ...[extras.forwards, extras.history].filter((s) => s !== undefined).map((s) => s.onDidChange(() => this.changeEmitter.fire(undefined))),
    ];
  }

  hostNode(host: string): HostTreeNode {
    let node = this.hostNodes.get(host);
    if (!node) {
      node = { kind: 'host', host };
      this.hostNodes.set(host, node);
    }
    return node;
  }

  async getChildren(element?: TreeNode): Promise<TreeNode[]> {
    if (!element) {
      const hosts: TreeNode[] = this.model.hostNames().map((h) => this.hostNode(h));
      return this.extras.forwards?.list().length ? [...hosts, FORWARDS_NODE] : hosts;
    }
    if (element.kind === 'forwards') return this.extras.forwards ? forwardNodes(this.extras.forwards) : [];
    if (element.kind === 'message' || element.kind === 'forward') return [];
    if (element.kind === 'process') {
      return element.node.children.map((node) => ({ kind: 'process', host: element.host, node, parent: element }));
    }
    const state = this.model.host(element.host);
    if (!state?.processes && !state?.error) await this.model.loadProcesses(element.host);
    const after = this.model.host(element.host);
    if (element.host === LOCAL_HOST) this.owners = await workspaceOwners(after?.processes ?? []);
    if (after?.error) return [{ kind: 'message', host: element.host, text: after.error, parent: element }];
    const forest = this.model.forest(element.host);
    if (forest.length === 0) {
      const text = isFilterActive(this.model.filter) ? 'No process matches the filter.' : 'No processes.';
      return [{ kind: 'message', host: element.host, text, parent: element }];
    }
    return forest.map((node) => ({ kind: 'process', host: element.host, node, parent: element }));
  }

  /** The user expanded a row: a host whose connection dropped reconnects and lists again
   * (a re-render after the drop only shows what was last seen). */
  expanded(element: TreeNode): void {
    if (element.kind === 'host' && this.model.host(element.host)?.reachability === 'disconnected') void this.model.loadProcesses(element.host, true);
  }

  getParent(element: TreeNode): TreeNode | undefined {
    return element.kind === 'host' || element.kind === 'forwards' ? undefined : element.parent;
  }

  getTreeItem(element: TreeNode): vscode.TreeItem {
    switch (element.kind) {
      case 'host':
        return hostItem(this.model.host(element.host) ?? { name: element.host, reachability: 'unknown', checking: false });
      case 'process':
        return this.decorateMigrated(
          processItem(element.host, element.node, element.host === LOCAL_HOST ? this.owners.get(element.node.info.pid) : undefined),
          element.host,
          element.node.info,
        );
      case 'forwards':
        return forwardsItem(this.extras.forwards?.list().length ?? 0);
      case 'forward':
        return forwardItem(element.forward);
      case 'message': {
        const item = new vscode.TreeItem(element.text, vscode.TreeItemCollapsibleState.None);
        item.id = `message:${element.host}`;
        item.iconPath = new vscode.ThemeIcon('info');
        item.tooltip = element.text;
        item.contextValue = ItemContext.Message;
        return item;
      }
    }
  }

  handleDrag(source: readonly TreeNode[], dataTransfer: vscode.DataTransfer): void {
    const refs = source.filter((n): n is ProcessTreeNode => n.kind === 'process').map((n) => ({ host: n.host, pid: n.node.info.pid }));
    if (refs.length > 0) dataTransfer.set(DRAG_MIME, new vscode.DataTransferItem(JSON.stringify(refs)));
  }

  async handleDrop(target: TreeNode | undefined, dataTransfer: vscode.DataTransfer): Promise<void> {
    const to = target && 'host' in target ? target.host : undefined; // not onto the forwards
    if (!to) return;
    const item = dataTransfer.get(DRAG_MIME);
    if (!item) return;
    const raw: unknown = typeof item.value === 'string' ? JSON.parse(item.value) : item.value;
    const refs = (Array.isArray(raw) ? raw : []).map(processRefOf).filter((r): r is ProcessRef => r !== undefined);
    // Dropped on its own host: nothing to do. Several from one host move in one request.
    for (const from of new Set(refs.map((r) => r.host).filter((h) => h !== to))) {
      const pids = refs.filter((r) => r.host === from).map((r) => r.pid);
      if (pids.length > 1 && this.extras.migrateMany) await this.extras.migrateMany({ pids, from, to });
      else for (const pid of pids) await this.migrate({ pid, from, to });
    }
  }

  /** A process that arrived by a migration says where from (and can be brought back). */
  private decorateMigrated(item: vscode.TreeItem, host: string, info: ProcessInfo): vscode.TreeItem {
    const entry: HistoryEntry | undefined = this.extras.history?.arrivedAt(host, info.pid);
    if (!entry || (entry.name && entry.name !== info.name)) return item; // PID reused by another program
    item.contextValue = ItemContext.MigratedProcess;
    const ports = forwardedPortsText(this.extras.forwards?.forProcess(host, info.pid) ?? []);
    item.description = [item.description, `from ${entry.result.from}`, ports].filter(Boolean).join(' · ');
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changeEmitter.dispose();
  }
}

export function hostDescription(state: HostState): string {
  const parts: string[] = [];
  if (state.checking) parts.push('checking…');
  if (state.reachability === 'loading') parts.push('connecting…');
  if (state.reachability === 'unreachable') parts.push('unreachable');
  if (state.reachability === 'disconnected') parts.push('disconnected');
  const caps = state.report?.reachable ? state.report.capabilities : undefined;
  if (caps) {
    parts.push(caps.criuVersion ? `CRIU ${caps.criuVersion}` : 'no CRIU');
    parts.push(`load ${caps.load1.toFixed(2)}/${caps.cpus}`);
    parts.push(`${formatKiB(caps.memAvailableKiB)} free`);
  } else if (state.processes && state.reachability === 'reachable') {
    parts.push(`${state.processes.length} processes`);
  }
  const problems = state.report?.problems.length ?? 0;
  if (problems > 0 && state.report?.reachable) parts.push(problems === 1 ? '1 problem' : `${problems} problems`);
  return parts.join(' · ');
}

function hostItem(state: HostState): vscode.TreeItem {
  const collapsed = state.name === LOCAL_HOST ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
  const item = new vscode.TreeItem(state.name, collapsed);
  item.id = `host:${state.name}`;
  item.description = hostDescription(state);
  item.contextValue = state.reachability === 'unreachable' ? ItemContext.HostUnreachable : ItemContext.Host;
  const problems = state.report?.problems ?? [];
  if (state.reachability === 'unreachable') item.iconPath = new vscode.ThemeIcon('vm-outline', new vscode.ThemeColor('errorForeground'));
  else if (state.reachability === 'disconnected') item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  else if (problems.length > 0) item.iconPath = new vscode.ThemeIcon('vm', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  else if (state.name === LOCAL_HOST) item.iconPath = new vscode.ThemeIcon('device-desktop');
  else item.iconPath = new vscode.ThemeIcon(state.reachability === 'reachable' ? 'vm-active' : 'vm');

  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escapeMd(state.name)}** — ${reachabilityText(state)}\n\n`);
  if (state.error) md.appendMarkdown(`${escapeMd(state.error)}\n\n`);
  if (state.dropped) md.appendMarkdown(`${escapeMd(droppedText(state.name, state.dropped))}\n\n`);
  const caps = state.report?.capabilities;
  if (caps) {
    md.appendMarkdown(
      [
        `| | |`,
        `|---|---|`,
        `| Host name | ${escapeMd(caps.hostname)} |`,
        `| CRIU | ${escapeMd(caps.criuVersion ?? 'not installed')} (${caps.privilege}) |`,
        `| Kernel | ${escapeMd(caps.kernel)} ${escapeMd(caps.arch)} |`,
        `| Load (1 min) | ${caps.load1.toFixed(2)} on ${caps.cpus} CPUs |`,
        `| Memory available | ${formatKiB(caps.memAvailableKiB)} |`,
        `| Disk for images | ${formatKiB(caps.diskAvailableKiB)} in ${escapeMd(caps.imagesDir)} |`,
      ].join('\n') + '\n\n',
    );
  } else if (!state.report) {
    md.appendMarkdown(`Run *Check Host* to see CRIU, load and free memory.\n\n`);
  }
  for (const problem of problems) md.appendMarkdown(`$(warning) ${escapeMd(problem)}\n\n`);
  item.tooltip = md;
  return item;
}

/** The tooltip's sentence for a dropped connection. */
function droppedText(host: string, dropped: NonNullable<HostState['dropped']>): string {
  const at = new Date(dropped.at).toLocaleTimeString();
  const why = dropped.reason ? ` (${dropped.reason})` : '';
  return `The SSH connection to ${host} dropped at ${at}${why}; the processes shown are those seen before. It reconnects on the next refresh, expand, check or migration.`;
}

function reachabilityText(state: HostState): string {
  switch (state.reachability) {
    case 'reachable':
      return 'reachable';
    case 'unreachable':
      return 'unreachable';
    case 'disconnected':
      return 'disconnected';
    case 'loading':
      return 'connecting…';
    default:
      return 'not contacted yet';
  }
}

function processItem(host: string, node: ProcessNode, owner?: WorkspaceOwner): vscode.TreeItem {
  const p = node.info;
  const item = new vscode.TreeItem(
    p.name,
    node.children.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
  );
  item.id = `process:${host}:${p.pid}`;
  item.description = owner ? `${describeProcess(p)} · ${owner.label}` : describeProcess(p);
  item.contextValue = ItemContext.Process;
  const icon = owner?.icon ?? (isKernelThread(p) ? 'gear' : node.mine ? 'account' : p.tty ? 'terminal' : 'symbol-event');
  item.iconPath = new vscode.ThemeIcon(icon);
  item.tooltip = processTooltip(host, p, owner);
  item.accessibilityInformation = { label: `${p.name}, PID ${p.pid}, on ${host}` };
  return item;
}

function processTooltip(host: string, p: ProcessInfo, owner?: WorkspaceOwner): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendCodeblock(p.command || p.name, 'shellscript');
  md.appendMarkdown(
    `PID ${p.pid} (parent ${p.ppid}) on **${escapeMd(host)}** · user ${escapeMd(p.user)} (${p.uid}) · state ${escapeMd(p.state)}` +
      (p.tty ? ` · ${escapeMd(p.tty)}` : '') +
      `\n\nCPU ${p.cpu.toFixed(1)}% · memory ${formatKiB(p.rssKiB)}` +
      (owner ? `\n\nStarted ${escapeMd(owner.label)} of this workspace.` : ''),
  );
  return md;
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/** What the view shows and does besides hosts and processes (all optional for view tests). */
export interface TreeExtras {
  forwards?: PortForwards;
  history?: MigrationHistory;
  /** Several processes dropped together move in one request. */
  migrateMany?: (request: Omit<BatchRequest, 'strategy'>) => Thenable<unknown>;
}

export interface ProcessViewDeps extends TreeExtras {
  model: ProcessModel;
  migrate: (request: Omit<MigrationRequest, 'strategy'>) => Thenable<unknown>;
}

/** Registers the Processes view with its filter, refresh and auto-refresh. */
export function registerProcessView(context: vscode.ExtensionContext, deps: ProcessViewDeps): ProcessTreeProvider {
  const { model } = deps;
  const provider = new ProcessTreeProvider(model, deps.migrate, deps);
  const view = vscode.window.createTreeView(Views.Processes, {
    treeDataProvider: provider,
    dragAndDropController: provider,
    showCollapseAll: true,
    canSelectMany: true,
  });
  context.subscriptions.push(provider, view);

  const updateFilterState = () => {
    const f = model.filter;
    const parts: string[] = [];
    if (f.text.trim()) parts.push(`matching “${f.text.trim()}”`);
    if (f.onlyMine) parts.push('only mine');
    if (f.hideSystem) parts.push('system hidden');
    view.message = parts.length ? `Filter: ${parts.join(', ')}` : undefined;
    void vscode.commands.executeCommand('setContext', ContextKeys.Filtered, isFilterActive(f));
    void vscode.commands.executeCommand('setContext', ContextKeys.OnlyMine, f.onlyMine);
    void vscode.commands.executeCommand('setContext', ContextKeys.HideSystem, f.hideSystem);
  };
  updateFilterState();

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.Refresh, () => model.refresh()),
    vscode.commands.registerCommand(Commands.Filter, async (text?: unknown) => {
      const value =
        typeof text === 'string'
          ? text
          : await vscode.window.showInputBox({
              title: 'Filter Processes',
              prompt: 'Show processes whose name, command line, user or PID contains this text (empty: no text filter).',
              value: model.filter.text,
            });
      if (value === undefined) return;
      model.setFilter({ text: value });
      updateFilterState();
    }),
    vscode.commands.registerCommand(Commands.ClearFilter, () => {
      model.setFilter({ text: '', onlyMine: false, hideSystem: false });
      updateFilterState();
    }),
    vscode.commands.registerCommand(Commands.ToggleOnlyMine, () => {
      model.setFilter({ onlyMine: !model.filter.onlyMine });
      updateFilterState();
    }),
    vscode.commands.registerCommand(Commands.ToggleHideSystem, () => {
      model.setFilter({ hideSystem: !model.filter.hideSystem });
      updateFilterState();
    }),
  );

  // Auto-refresh while the view is visible, every `autoRefreshSeconds` (0: off).
  let timer: ReturnType<typeof setInterval> | undefined;
  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const seconds = readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'autoRefreshSeconds');
    if (seconds > 0 && view.visible) {
      timer = setInterval(() => void model.refresh(), Math.max(1, seconds) * 1000);
    }
  };
  schedule();
  context.subscriptions.push(
    view.onDidExpandElement((e) => provider.expanded(e.element)),
    view.onDidChangeVisibility(schedule),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(fullSettingKey('autoRefreshSeconds'))) schedule();
      if (e.affectsConfiguration(fullSettingKey('hosts')) || e.affectsConfiguration(fullSettingKey('sshConfigFile'))) {
        model.reloadHosts();
      }
    }),
    { dispose: () => timer && clearInterval(timer) },
    // A terminal opened or closed changes which local processes the workspace owns.
    vscode.window.onDidOpenTerminal(() => void model.loadProcesses(LOCAL_HOST, true)),
    vscode.window.onDidCloseTerminal(() => void model.loadProcesses(LOCAL_HOST, true)),
  );
  return provider;
}
