// Bring Back All: the processes an evacuation moved off a host, still running where they went,
// return to it: one batch per host they are on now, under one progress, in one history batch
// and one notification. Their forwards stop first and start again for those that did not move.
import * as vscode from 'vscode';
import type { BatchResult, MigrationResult } from '../../migration/api';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import type { HistoryEntry } from '../report/history';
import { hostOf, type ProcessRef } from '../view/processRefs';
import { recordBatch } from './batchMigration';
import { withForwardsStopped, type BringBackDeps } from './bringBack';
import { pickHost } from './evacuateHost';
import type { MigrateCommandOptions } from './migrationDeps';
import { SHOW_LOG, SHOW_REPORT, withMigrationProgress } from './migrationProgress';

/** `processMigrator.bringBackAll`: (evacuated host row or name?, options?). Resolves to one result
 * per process moved back, or undefined when there was nothing to bring back. */
export function registerBringBackAll(context: vscode.ExtensionContext, deps: BringBackDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.BringBackAll, async (target?: unknown, options: MigrateCommandOptions = {}) => {
      const evacuated = deps.model.hostNames().filter((h) => deps.history.evacuatedFrom(h).length > 0);
      const home = hostOf(target) ?? (evacuated.length ? await pickHost(evacuated, 'Bring Back All', 'The evacuated host to bring the processes back to') : undefined);
      if (!home) {
        if (!hostOf(target) && !evacuated.length) void vscode.window.showInformationMessage('No host was evacuated from this workspace: there is nothing to bring back.');
        return undefined;
      }
      return bringBackAll(deps, home, options);
    }),
  );
}

export async function bringBackAll(deps: BringBackDeps, home: string, options: MigrateCommandOptions = {}): Promise<MigrationResult[] | undefined> {
  const { engine, model, log } = deps;
  const entries = await stillAway(deps, home);
  if (!entries.length) {
    void vscode.window.showInformationMessage(`No process moved off ${home} by an evacuation still runs elsewhere: there is nothing to bring back.`);
    return undefined;
  }
  const strategy = options.strategy ?? readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
  const refs: ProcessRef[] = entries.map((e) => ({ host: e.result.to, pid: e.result.destinationPid! }));
  const groups = [...new Set(refs.map((r) => r.host))].map((from) => ({ from, pids: refs.filter((r) => r.host === from).map((r) => r.pid) }));
  const what = `${entries.length} process${entries.length === 1 ? '' : 'es'} evacuated from ${home}`;
  log.info(`Bringing back ${what} (from ${groups.map((g) => g.from).join(', ')})`);

  let batchError: string | undefined;
  const results = await withForwardsStopped(deps, home, refs, async () => {
    const batches = await withMigrationProgress(
      log,
      what,
      home,
      options,
      (engineOptions) => Promise.all(groups.map((g) => engine.migrateMany({ pids: g.pids, from: g.from, to: home, strategy }, engineOptions))),
      (error): BatchResult[] => groups.map((g) => ({ ok: false, from: g.from, to: home, freezeMs: 0, totalMs: 0, bytes: 0, processes: [], error })),
    );
    batchError = batches.find((b) => b.error)?.error;
    return batches.flatMap((b) => b.processes);
  });

  const nameOf = new Map(entries.map((e) => [`${e.result.to}:${e.result.destinationPid}`, e.name]));
  const trigger = `bring back all to ${home}`;
  const { first } = await recordBatch(
    deps,
    results.map((r) => ({ result: { ...r, trigger }, name: nameOf.get(`${r.from}:${r.sourcePid}`) })),
    { batchId: `${new Date().toISOString()}|bring-back|${home}`, batchLabel: `Bring back to ${home}`, requestedStrategy: strategy, forwardPorts: false },
  );
  void model.refresh([home, ...groups.map((g) => g.from)]);

  const moved = results.filter((r) => r.ok).length;
  const show = (choice: string | undefined) => {
    if (choice === SHOW_REPORT) void vscode.commands.executeCommand(Commands.ShowReport, first);
    else if (choice === SHOW_LOG) log.show(true);
  };
  if (moved === entries.length) {
    void vscode.window.showInformationMessage(`Brought ${moved} process${moved === 1 ? '' : 'es'} back to ${home}.`, SHOW_REPORT).then(show);
  } else {
    const why = results.find((r) => !r.ok)?.error ?? batchError ?? 'the engine gave no result';
    void vscode.window
      .showErrorMessage(`Brought ${moved} of ${entries.length} processes back to ${home}; the others keep running where they are: ${why}`, SHOW_LOG, ...(first ? [SHOW_REPORT] : []))
      .then(show);
  }
  return results;
}

/** The entries of processes evacuated from `home` that still run where they went, as the same program. */
async function stillAway(deps: BringBackDeps, home: string): Promise<HistoryEntry[]> {
  const entries = deps.history.evacuatedFrom(home);
  await Promise.all([...new Set(entries.map((e) => e.result.to))].map((h) => deps.model.loadProcesses(h, true)));
  return entries.filter((e) => {
    const p = deps.model.findProcess(e.result.to, e.result.destinationPid!);
    return p && (!e.name || e.name === p.name);
  });
}
