// Evacuate Host…: every process of the user on a host (or the chosen ones) moves off it in one
// engine call, each where it fits (or to one chosen host): one cancellable progress, one batch in
// the history and the report, listing the processes left with their reasons.
import * as vscode from 'vscode';
import { AUTO_HOST, type EvacuationResult, type MigrateOptions } from '../../migration/api';
import { isKernelThread } from '../../helper/processList';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { describeProcess } from '../common/processForest';
import { forwardPortsEnabled } from '../forwards/forwardCommand';
import { engineSupports, MISSING_CAPABILITY } from '../hosts/engineHost';
import { hostOf } from '../view/processRefs';
import { destinationText } from './migrate';
import type { MigrateCommandOptions, MigrationDeps } from './migrationDeps';
import { SHOW_REPORT, withMigrationProgress } from './migrationProgress';
import { evacuationEntries, evacuationSummary } from './evacuationText';

export interface EvacuateCommandOptions extends Pick<MigrateCommandOptions, 'signal' | 'onProgress' | 'strategy' | 'forwardPorts'> {
  /** The processes to move (default: ask; every migratable one of the user when all are kept). */
  pids?: number[];
  /** A host or `auto` (default: ask). */
  to?: string;
  /** The hosts `auto` chooses among (default: every host of the view but the evacuated one). */
  candidates?: string[];
}

interface ProcessChoice extends vscode.QuickPickItem {
  /** Undefined: every migratable process of the user (the engine decides which are). */
  pid?: number;
}

/** `processMigrator.evacuateHost`: (host row or host name?, options?). Resolves to the engine's
 * result, or undefined when a picker was dismissed. */
export function registerEvacuation(context: vscode.ExtensionContext, deps: MigrationDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.EvacuateHost, async (target?: unknown, options: EvacuateCommandOptions = {}) => {
      if (!engineSupports(deps.engine, 'evacuate')) {
        void vscode.window.showWarningMessage(MISSING_CAPABILITY.evacuate);
        return undefined;
      }
      const from = hostOf(target) ?? (await vscode.window.showQuickPick(deps.model.hostNames(), { title: 'Evacuate Host', placeHolder: 'The host to move your processes off' }));
      if (!from) return undefined;
      const others = deps.model.hostNames().filter((h) => h !== from);
      const pids = options.pids ?? (await pickProcesses(deps, from));
      if (pids === null) return undefined;
      const to = options.to ?? (await pickEvacuationDestination(from, others));
      if (!to) return undefined;
      return evacuate(deps, from, to, pids, options);
    }),
  );
}

/** The user's processes on `from`, all picked; null when dismissed, undefined for "all of them". */
async function pickProcesses(deps: MigrationDeps, from: string): Promise<number[] | undefined | null> {
  const processes = await deps.model.loadProcesses(from, true);
  const mine = processes.filter((p) => p.uid === deps.model.myUid && !isKernelThread(p));
  const pidsOfMine = new Set(mine.map((p) => p.pid));
  // A child of one of them moves with its parent's tree: list only the trees' roots.
  const roots = mine.filter((p) => !pidsOfMine.has(p.ppid));
  const all: ProcessChoice = { label: '$(check-all) Every migratable process of yours', description: `on ${from}`, picked: true, alwaysShow: true };
  const items: ProcessChoice[] = [all, ...roots.map((p) => ({ label: p.name, description: describeProcess(p), detail: p.command, pid: p.pid }))];
  const chosen = await vscode.window.showQuickPick(items, {
    title: `Evacuate ${from}: which processes`,
    placeHolder: 'Keep the first entry for all of them, or pick some',
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!chosen || chosen.length === 0) return null;
  if (chosen.includes(all)) return undefined;
  return chosen.map((c) => c.pid!);
}

async function pickEvacuationDestination(from: string, others: string[]): Promise<string | undefined> {
  const items: (vscode.QuickPickItem & { host: string })[] = [
    { label: '$(star-full) Where each fits best', description: 'the engine chooses by measured load and memory', host: AUTO_HOST },
    ...others.map((h) => ({ label: h, host: h })),
  ];
  return (await vscode.window.showQuickPick(items, { title: `Evacuate ${from} to…`, ignoreFocusOut: true }))?.host;
}

export async function evacuate(
  deps: MigrationDeps,
  from: string,
  to: string,
  pids: number[] | undefined,
  options: EvacuateCommandOptions = {},
): Promise<EvacuationResult> {
  const { engine, model, history, log } = deps;
  const strategy = options.strategy ?? readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
  const candidates = (options.candidates ?? model.hostNames()).filter((h) => h !== from);
  const names = new Map((model.host(from)?.processes ?? []).map((p) => [p.pid, p.name]));
  const what = pids ? `${pids.length} processes of ${from}` : `your processes on ${from}`;
  log.info(`Evacuating ${what} to ${destinationText(to)}`);
  const result = await withMigrationProgress(
    log,
    what,
    destinationText(to),
    options,
    (engineOptions: MigrateOptions) => engine.evacuate!({ from, to, pids, candidates, strategy }, engineOptions),
    (error): EvacuationResult => ({ ok: false, from, totalMs: 0, processes: [], left: [], error }),
  );

  let first: string | undefined;
  for (const entry of evacuationEntries(result, to, (pid) => names.get(pid))) {
    const r = entry.result;
    const forwards = !entry.details.left && deps.forwards && (options.forwardPorts ?? forwardPortsEnabled()) ? await deps.forwards.afterMigration(r, entry.name) : undefined;
    const added = await history.add(r, entry.name, { ...entry.details, forwards, requestedStrategy: strategy });
    first ??= added.id;
    if (r.ok && r.destinationPid !== undefined) await deps.marks?.moved({ host: from, pid: r.sourcePid }, { host: r.to, pid: r.destinationPid });
    if (entry.details.left) log.warn(`Left ${entry.name ?? 'process'} (PID ${r.sourcePid}) on ${from}: ${r.error}`);
    else if (r.ok) log.info(`Moved ${entry.name ?? 'process'} (PID ${r.sourcePid}) to ${r.to} as PID ${r.destinationPid ?? '?'}`);
    else log.error(`Moving ${entry.name ?? 'process'} (PID ${r.sourcePid}) failed: ${r.error}`);
  }
  void model.refresh([from, ...new Set(result.processes.map((p) => p.to))]);

  const summary = evacuationSummary(result);
  const show = (choice: string | undefined) => choice === SHOW_REPORT && first && vscode.commands.executeCommand(Commands.ShowReport, first);
  if (result.ok) void vscode.window.showInformationMessage(summary, SHOW_REPORT).then(show);
  else void vscode.window.showWarningMessage(summary, SHOW_REPORT).then(show);
  return result;
}
