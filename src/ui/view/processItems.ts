// The Processes view's rows for hosts and processes: label, description, icon and tooltip.
import * as vscode from 'vscode';
import type { HostState as MeasuredState, ProcessInfo } from '../../migration/api';
import { ItemContext } from '../common/contributions';
import { formatKiB } from '../../common/format';
import { isKernelThread } from '../../helper/processList';
import { describeProcess, type ProcessNode } from '../common/processForest';
import { LOCAL_HOST, type HostState } from './processModel';
import type { WorkspaceOwner } from './workspaceProcesses';
import { measured as wasMeasured, measuredDescription, measuredRows } from './hostStateText';

/** What a host row shows besides the model's state. */
export interface HostExtras {
  /** The host's measured state (automatic/hostStates.ts), when probed. */
  measured?: MeasuredState;
  /** An evacuation moved processes off it that are still away. */
  evacuated?: boolean;
}

export function hostDescription(state: HostState, measured?: MeasuredState): string {
  const parts: string[] = [];
  if (state.checking) parts.push('checking…');
  if (state.reachability === 'loading') parts.push('connecting…');
  if (state.reachability === 'unreachable') parts.push('unreachable');
  if (state.reachability === 'disconnected') parts.push('disconnected');
  const caps = state.report?.reachable ? state.report.capabilities : undefined;
  const down = state.reachability === 'unreachable' || state.reachability === 'disconnected';
  const shown = down ? undefined : measured;
  if (shown && wasMeasured(shown)) {
    // Probed in the background, newer than a check's figures; the tooltip has the details.
    parts.push(measuredDescription(shown));
  } else if (caps) {
    parts.push(caps.criuVersion ? `CRIU ${caps.criuVersion}` : 'no CRIU');
    parts.push(`load ${caps.load1.toFixed(2)}/${caps.cpus}`);
    parts.push(`${formatKiB(caps.memAvailableKiB)} free`);
  } else if (state.processes && state.reachability === 'reachable') {
    parts.push(`${state.processes.length} processes`);
  }
  // Never measured (its probe failed): what the row knew, then why.
  if (shown && !wasMeasured(shown) && shown.stale) parts.push(measuredDescription(shown));
  const problems = state.report?.problems.length ?? 0;
  if (problems > 0 && state.report?.reachable) parts.push(problems === 1 ? '1 problem' : `${problems} problems`);
  return parts.join(' · ');
}

export function hostItem(state: HostState, extras: HostExtras = {}): vscode.TreeItem {
  const collapsed = state.name === LOCAL_HOST ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
  const item = new vscode.TreeItem(state.name, collapsed);
  item.id = `host:${state.name}`;
  item.description = hostDescription(state, extras.measured);
  item.contextValue =
    state.reachability === 'unreachable' ? ItemContext.HostUnreachable : extras.evacuated ? ItemContext.HostEvacuated : ItemContext.Host;
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
  if (extras.measured) {
    const rows = measuredRows(extras.measured).map(([k, v]) => `| ${escapeMd(k)} | ${escapeMd(v)} |`);
    md.appendMarkdown(['| Measured state | |', '|---|---|', ...rows].join('\n') + '\n\n');
  }
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

export function processItem(host: string, node: ProcessNode, owner?: WorkspaceOwner): vscode.TreeItem {
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
