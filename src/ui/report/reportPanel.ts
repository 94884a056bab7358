// The migration report webview: one panel, shown or revealed by `createOrShow`, re-rendered when
// the history changes or the user picks another entry.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { Commands } from '../common/contributions';
import type { HistoryEntry, MigrationHistory } from './history';
import { renderReportHtml } from './reportHtml';

export class MigrationReportPanel {
  static readonly viewType = 'processMigrator.report';
  private static current: MigrationReportPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private selectedId: string | undefined;

  /** Shows `entryId` (or the newest migration) in the panel, creating it when needed. */
  static createOrShow(extensionUri: vscode.Uri, history: MigrationHistory, entryId?: string): MigrationReportPanel {
    const column = vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.One;
    if (MigrationReportPanel.current) {
      MigrationReportPanel.current.show(entryId ?? history.latest()?.id);
      MigrationReportPanel.current.panel.reveal(column);
      return MigrationReportPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(MigrationReportPanel.viewType, 'Migration Report', column, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')],
    });
    MigrationReportPanel.current = new MigrationReportPanel(panel, extensionUri, history, entryId ?? history.latest()?.id);
    return MigrationReportPanel.current;
  }

  static get currentPanel(): MigrationReportPanel | undefined {
    return MigrationReportPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly history: MigrationHistory,
    entryId: string | undefined,
  ) {
    this.selectedId = entryId;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: { type?: string; id?: string }) => {
        if (message?.type === 'show' && typeof message.id === 'string') this.show(message.id);
      }),
      history.onDidChange(() => this.render()),
    );
    this.render();
  }

  get selected(): HistoryEntry | undefined {
    return (this.selectedId && this.history.get(this.selectedId)) || this.history.latest();
  }

  show(entryId: string | undefined): void {
    this.selectedId = entryId;
    this.render();
  }

  private render(): void {
    const webview = this.panel.webview;
    const selected = this.selected;
    this.panel.title = selected ? `Migration Report: ${selected.name ?? selected.result.sourcePid}` : 'Migration Report';
    webview.html = renderReportHtml({
      selected,
      batch: selected && this.history.batchOf(selected),
      history: this.history.entries(),
      nonce: randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'report.css')).toString(),
    });
  }

  dispose(): void {
    if (MigrationReportPanel.current === this) MigrationReportPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

export interface ReportDeps {
  history: MigrationHistory;
}

export function registerReport(context: vscode.ExtensionContext, deps: ReportDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.ShowReport, (entryId?: unknown) => {
      const id = typeof entryId === 'string' ? entryId : undefined;
      if (!id && !deps.history.latest()) {
        void vscode.window.showInformationMessage('No migrations in this workspace yet: migrate a process to get a report.');
      }
      return MigrationReportPanel.createOrShow(context.extensionUri, deps.history, id);
    }),
    { dispose: () => MigrationReportPanel.currentPanel?.dispose() },
  );
}
