// Migrate to Best Host: the engine chooses the destination (`to: auto`) among the configured hosts
// by measured headroom; the report shows the choice and why each other host was passed over.
import * as vscode from 'vscode';
import { AUTO_HOST, type MigrationResult } from '../../migration/api';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { engineSupports, MISSING_CAPABILITY } from '../hosts/engineHost';
import { processRefOf } from '../view/processRefs';
import { pickProcess, runMigration } from './migrate';
import type { MigrateCommandOptions, MigrationDeps } from './migrationDeps';

export interface BestHostOptions extends MigrateCommandOptions {
  /** The hosts to choose among (default: every host of the view). */
  candidates?: string[];
}

/** `processMigrator.migrateToBestHost`: (process row or `{host, pid}`?, options?). */
export function registerBestHost(context: vscode.ExtensionContext, deps: MigrationDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.MigrateToBestHost, async (source?: unknown, options: BestHostOptions = {}): Promise<MigrationResult | undefined> => {
      if (!engineSupports(deps.engine, 'place')) {
        void vscode.window.showWarningMessage(MISSING_CAPABILITY.place);
        return undefined;
      }
      const ref = processRefOf(source) ?? (await pickProcess(deps.model));
      if (!ref) return undefined;
      const candidates = (options.candidates ?? deps.model.hostNames()).filter((h) => h !== ref.host);
      if (candidates.length === 0) {
        void vscode.window.showWarningMessage(`There is no host besides ${ref.host} to choose from: add one with "Process Migrator: Add Host…".`);
        return undefined;
      }
      const strategy = options.strategy ?? readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
      return runMigration(deps, { pid: ref.pid, from: ref.host, to: AUTO_HOST, strategy, candidates }, options);
    }),
  );
}
