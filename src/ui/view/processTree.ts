// The Processes view's data: maps the model's hosts and process trees to tree items and lets the
// user drag a process onto another host. No I/O of its own. Registered by processView.ts.
import * as vscode from 'vscode';
import type { HostStates } from '../../automatic/hostStates';
import type { BatchRequest, MigrationRequest, ProcessInfo } from '../../migration/api';
import { ItemContext, Views } from '../common/contributions';
import { isFilterActive } from '../common/processForest';
import { FORWARDS_NODE, forwardItem, forwardNodes, forwardsItem } from '../forwards/forwardItems';
import { forwardedPortsText, type PortForwards } from '../forwards/portForwards';
import type { HistoryEntry, MigrationHistory } from '../report/history';
import type { PolicyMarks } from '../policies/policyMarks';
import { MARKED_DESCRIPTION, markedTooltip } from '../policies/policyText';
import { hostItem, processItem } from './processItems';
import { LOCAL_HOST, type ProcessModel } from './processModel';
import { processRefOf, type HostTreeNode, type ProcessRef, type ProcessTreeNode, type TreeNode } from './processRefs';
import { workspaceOwners, type WorkspaceOwner } from './workspaceProcesses';

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
      // Forwards, arrivals and marks show on the root and on the rows of migrated and marked processes.
      ...[extras.forwards, extras.history, extras.marks].filter((s) => s !== undefined).map((s) => s.onDidChange(() => this.changeEmitter.fire(undefined))),
    ];
    const measured = extras.hostStates?.onDidChange((state) => this.changeEmitter.fire(this.hostNode(state.host)));
    if (measured) this.subscriptions.push({ dispose: measured });
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
        return hostItem(this.model.host(element.host) ?? { name: element.host, reachability: 'unknown', checking: false }, {
          measured: this.extras.hostStates?.peek(element.host),
          evacuated: (this.extras.history?.evacuatedFrom(element.host).length ?? 0) > 0,
        });
      case 'process':
        return this.decorateMarked(
          this.decorateMigrated(
            processItem(element.host, element.node, element.host === LOCAL_HOST ? this.owners.get(element.node.info.pid) : undefined),
            element.host,
            element.node.info,
          ),
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

  /** A process a policy may move says so; its context gets the marked suffix, for *Stop
   * Automatic Moves* (menus matching `viewItem =~ /^process/` still match). */
  private decorateMarked(item: vscode.TreeItem, host: string, info: ProcessInfo): vscode.TreeItem {
    const source = this.extras.marks?.markOf(host, info.pid, info.command);
    if (!source) return item;
    item.contextValue = `${item.contextValue}${ItemContext.MarkedSuffix}`;
    item.description = [item.description, MARKED_DESCRIPTION].filter(Boolean).join(' · ');
    if (item.tooltip instanceof vscode.MarkdownString) item.tooltip.appendMarkdown(`\n\n${markedTooltip(source)}`);
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changeEmitter.dispose();
  }
}

/** What the view shows and does besides hosts and processes (all optional for view tests). */
export interface TreeExtras {
  forwards?: PortForwards;
  history?: MigrationHistory;
  /** The processes a policy may move, which their rows show. */
  marks?: PolicyMarks;
  /** The measured state each host row shows. */
  hostStates?: HostStates;
  /** Several processes dropped together move in one request. */
  migrateMany?: (request: Omit<BatchRequest, 'strategy'>) => Thenable<unknown>;
}
