// Bring Back All: every process the history moved off a host (or off any host) and that still
// runs where it went goes back home, in one batch per home and current host. Forwards stop first
// (the processes listen at home again); those of a process that could not move start again.
import * as vscode from 'vscode';
import type { BatchResult, MigrationResult } from '../../migration/api';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { homeOf } from '../report/history';
import { bringBackGroups } from './bringBackGroups';
import { hostOf } from '../view/processRefs';
import { runBatchMigration } from './batchMigration';
import type { BringBackDeps } from './bringBack';
import { runMigration } from './migrate';
import type { MigrateCommandOptions } from './migrationDeps';

/** `processMigrator.bringBackAll`: (home host row or name?, options?): the processes moved off
 * that host (every host when none), back home. Resolves to one result per batch. */
export function registerBringBackAll(context: vscode.ExtensionContext, deps: BringBackDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.BringBackAll, async (target?: unknown, options: MigrateCommandOptions = {}) => {
      const home = hostOf(target);
      const entries = deps.history.movedOff(home);
      // Only those still running where they went, as the same program.
      await Promise.all([...new Set(entries.map((e) => e.result.to))].map((h) => deps.model.loadProcesses(h, true)));
      const running = entries.filter((e) => {
        const p = deps.model.findProcess(e.result.to, e.result.destinationPid!);
        return p && (!e.name || e.name === p.name);
      });
      if (running.length === 0) {
        void vscode.window.showInformationMessage(
          home ? `No process moved off ${home} is running elsewhere: there is nothing to bring back.` : 'No migrated process is running where it went: there is nothing to bring back.',
        );
        return [];
      }
      const all = deps.history.entries();
      const strategy = options.strategy ?? readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
      const results: (MigrationResult | BatchResult)[] = [];
      for (const group of bringBackGroups(running, (e) => homeOf(all, e))) {
        const stopped = (await Promise.all(group.pids.map((pid) => deps.forwards.stopFor(group.from, pid)))).flat();
        const request = { from: group.from, to: group.home, strategy };
        const result =
          group.pids.length === 1
            ? await runMigration(deps, { ...request, pid: group.pids[0] }, { ...options, forwardPorts: false })
            : await runBatchMigration(deps, { ...request, pids: group.pids }, { ...options, forwardPorts: false });
        // Those that did not move still run away from home: their ports answer there again.
        const stayed = new Set('processes' in result ? result.processes.filter((p) => !p.ok).map((p) => p.sourcePid) : result.ok ? [] : [result.sourcePid]);
        if ('processes' in result && !result.ok && result.processes.length === 0) group.pids.forEach((pid) => stayed.add(pid));
        for (const spec of stopped) if (stayed.has(spec.pid)) await deps.forwards.forward(spec);
        results.push(result);
      }
      return results;
    }),
  );
}
