// Evacuate Host…: the user's process trees on a host (or the chosen ones) move off it, each where
// it fits or to one chosen host (automatic/evacuate.ts): one cancellable progress, one batch in the
// history and the report with the processes left and why, one notification offering Bring Back All.
import * as vscode from 'vscode';
import { evacuate, workTrees, type EvacuationResult } from '../../automatic/evacuate';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { describeProcess } from '../common/processForest';
import { hostOf } from '../view/processRefs';
import { recordBatch } from './batchMigration';
import { evacuationMembers, evacuationSummary } from './evacuationText';
import { BEST_HOST } from './migrate';
import type { MigrateCommandOptions, MigrationDeps } from './migrationDeps';
import { SHOW_REPORT, withMigrationProgress } from './migrationProgress';

export const BRING_BACK_ALL = 'Bring Back All';

export interface EvacuateCommandOptions extends Pick<MigrateCommandOptions, 'signal' | 'onProgress' | 'strategy' | 'forwardPorts'> {
  /** A host, or `auto` for the best host of each (default: ask). */
  to?: string;
  /** The trees to move (default: ask, all of the user's work trees picked). */
  pids?: number[];
}

/** What the command resolves to; `error` when the evacuation could not run at all. */
export type Evacuation = EvacuationResult & { error?: string };

/** `processMigrator.evacuateHost`: (host row or name?, options?). Resolves to the evacuation, or
 * undefined when a picker was dismissed. */
export function registerEvacuation(context: vscode.ExtensionContext, deps: MigrationDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.EvacuateHost, async (target?: unknown, options: EvacuateCommandOptions = {}) => {
      const from = hostOf(target) ?? (await pickHost(deps.model.hostNames(), 'Evacuate Host', 'The host to move your processes off'));
      if (!from) return undefined;
      const among = deps.model.hostNames().filter((h) => h !== from);
      if (!among.length) {
        void vscode.window.showWarningMessage(`There is no other host to evacuate ${from} to: add one with "Process Migrator: Add Host…".`);
        return undefined;
      }
      const to = options.to ?? (await pickDestination(from, among));
      if (!to) return undefined;
      const pids = options.pids ?? (await pickTrees(deps, from));
      if (!pids?.length) return undefined;
      return runEvacuation(deps, { from, to, among, pids }, options);
    }),
  );
}

export async function pickHost(hosts: readonly string[], title: string, placeHolder: string): Promise<string | undefined> {
  return (await vscode.window.showQuickPick(hosts.map((label) => ({ label })), { title, placeHolder }))?.label;
}

async function pickDestination(from: string, among: readonly string[]): Promise<string | undefined> {
  const items: (vscode.QuickPickItem & { host: string })[] = [
    { label: '$(sparkle) Best host for each process', description: `by measured load, among ${among.join(', ')}`, host: BEST_HOST },
    ...among.map((host) => ({ label: host, host })),
  ];
  return (await vscode.window.showQuickPick(items, { title: `Evacuate ${from} to…`, ignoreFocusOut: true }))?.host;
}

/** The user's work trees on `from`, all picked; undefined when dismissed or there are none. */
async function pickTrees(deps: MigrationDeps, from: string): Promise<number[] | undefined> {
  const [processes, report] = await Promise.all([deps.model.loadProcesses(from, true), deps.model.check(from)]);
  const trees = await workTrees(deps.engine, from, processes, report.capabilities?.uid ?? deps.model.myUid);
  if (!trees.length) {
    void vscode.window.showInformationMessage(`No process of yours runs on ${from} outside a login session: there is nothing to evacuate.`);
    return undefined;
  }
  const items = trees.map((p) => ({ label: p.name, description: describeProcess(p), detail: p.command, picked: true, pid: p.pid }));
  const chosen = await vscode.window.showQuickPick(items, { title: `Evacuate ${from}: which processes`, canPickMany: true, ignoreFocusOut: true });
  return chosen?.map((c) => c.pid);
}

export async function runEvacuation(
  deps: MigrationDeps,
  request: { from: string; to: string; among: readonly string[]; pids?: readonly number[] },
  options: EvacuateCommandOptions = {},
): Promise<Evacuation> {
  const { engine, model, log } = deps;
  const { from, to } = request;
  const strategy = options.strategy ?? readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
  const names = new Map((await model.loadProcesses(from, true)).map((p) => [p.pid, p.name]));
  const what = request.pids ? `${request.pids.length} process tree${request.pids.length === 1 ? '' : 's'} of ${from}` : `your processes on ${from}`;
  const where = to === BEST_HOST ? 'the best host for each' : to;
  log.info(`Evacuating ${what} to ${where}`);

  const result: Evacuation = await withMigrationProgress(
    log,
    what,
    where,
    options,
    (engineOptions) => evacuate(engine, deps.hostStates, { ...request, strategy }, engineOptions),
    (error): Evacuation => ({ ok: false, from, results: [], left: [], totalMs: 0, error }),
  );

  const { first } = await recordBatch(deps, evacuationMembers(result, to, (pid) => names.get(pid)), {
    batchId: `${new Date().toISOString()}|evacuate|${from}`,
    batchLabel: `Evacuation of ${from}`,
    requestedStrategy: strategy,
    forwardPorts: options.forwardPorts,
  });
  void model.refresh([from, ...new Set(result.results.map((r) => r.to))]);

  const summary = evacuationSummary(result, (pid) => names.get(pid));
  const moved = result.results.some((r) => r.ok);
  const buttons = [...(first ? [SHOW_REPORT] : []), ...(moved ? [BRING_BACK_ALL] : [])];
  const clean = result.ok && !result.left.length && !result.error;
  if (clean) log.info(summary);
  else log.warn(summary);
  void (clean ? vscode.window.showInformationMessage(summary, ...buttons) : vscode.window.showWarningMessage(summary, ...buttons)).then((choice) => {
    if (choice === SHOW_REPORT) void vscode.commands.executeCommand(Commands.ShowReport, first);
    else if (choice === BRING_BACK_ALL) void vscode.commands.executeCommand(Commands.BringBackAll, from);
  });
  return result;
}
