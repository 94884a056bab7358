// Migration-ready starts in VS Code (src/migration/migrationReady.ts): the *Process Migrator
// (migration-ready)* terminal profile, whose shell and everything started from it run under the
// launcher; and, while `processMigrator.migrationReady` is on, that profile as this workspace's
// default terminal and Node.js debug launches through the launcher (migrationReadyConfig.ts).
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { migrationReadyArgv } from '../../migration/migrationReady';
import { commandLine } from '../../transport/sshHost';
import { fullSettingKey, MIGRATION_READY_PROFILE, readSetting, SETTINGS_SECTION } from '../common/contributions';
import {
  defaultProfileChange,
  migrationReadyLaunch,
  migrationReadyShell,
  NODE_DEBUG_TYPES,
  type LaunchConfiguration,
  type TerminalProfileSetting,
} from './migrationReadyConfig';
import { errorMessage } from '../view/processModel';

/** The workspace's own default profile before the setting replaced it (restored when it is turned off). */
const PREVIOUS_DEFAULT_KEY = 'processMigrator.previousDefaultProfile';
const TERMINAL_SECTION = 'terminal.integrated';
const DEFAULT_PROFILE = 'defaultProfile.linux';

export interface MigrationReadyDeps {
  log: vscode.LogOutputChannel;
}

export function registerMigrationReady(context: vscode.ExtensionContext, { log }: MigrationReadyDeps): void {
  const terminalConfig = () => vscode.workspace.getConfiguration(TERMINAL_SECTION);
  const previousDefault = () => context.workspaceState.get<string>(PREVIOUS_DEFAULT_KEY);
  const isOn = (scope?: vscode.ConfigurationScope) => readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION, scope), 'migrationReady');

  const shell = () => {
    const config = terminalConfig();
    const chosen = config.inspect<string>(DEFAULT_PROFILE);
    return migrationReadyShell(
      [chosen?.workspaceFolderValue, chosen?.workspaceValue, previousDefault(), chosen?.globalValue, chosen?.defaultValue],
      config.get<Record<string, TerminalProfileSetting | null>>('profiles.linux') ?? {},
      process.env,
      existsSync,
    );
  };

  context.subscriptions.push(
    vscode.window.registerTerminalProfileProvider(MIGRATION_READY_PROFILE.id, {
      provideTerminalProfile: () => {
        const { path, args, env } = shell();
        const [shellPath, ...shellArgs] = migrationReadyArgv([path, ...args]);
        log.info(`Terminal profile ${MIGRATION_READY_PROFILE.title}: ${commandLine([shellPath, ...shellArgs])}`);
        return new vscode.TerminalProfile({
          name: `${basename(path)} (migration-ready)`,
          shellPath,
          shellArgs,
          env,
          iconPath: new vscode.ThemeIcon('arrow-swap'),
        });
      },
    }),
  );

  // The default profile follows the setting; syncs run one at a time (each reads what the last wrote).
  let sync = Promise.resolve();
  const syncDefaultProfile = () =>
    (sync = sync.then(async () => {
      if (!vscode.workspace.workspaceFolders?.length) return; // no workspace settings to write to
      const on = isOn();
      const current = terminalConfig().inspect<string>(DEFAULT_PROFILE)?.workspaceValue;
      const change = defaultProfileChange(on, current, previousDefault());
      if (!change) return;
      try {
        if (on) await context.workspaceState.update(PREVIOUS_DEFAULT_KEY, current);
        await terminalConfig().update(DEFAULT_PROFILE, change.value, vscode.ConfigurationTarget.Workspace);
        if (!on) await context.workspaceState.update(PREVIOUS_DEFAULT_KEY, undefined);
        log.info(`${fullSettingKey('migrationReady')} is ${on ? 'on' : 'off'}: this workspace's default terminal profile is ${change.value ?? 'the user’s'} now`);
      } catch (err) {
        log.warn(`Could not set this workspace's default terminal profile: ${errorMessage(err)}`);
      }
    }));
  void syncDefaultProfile();
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(fullSettingKey('migrationReady'))) void syncDefaultProfile();
    }),
  );

  // After variables are substituted, so a `${workspaceFolder}/…` runtime is a path the wrapper can run.
  const provider: vscode.DebugConfigurationProvider = {
    resolveDebugConfigurationWithSubstitutedVariables: (folder, config) => {
      if (!isOn(folder?.uri)) return config;
      const launch = migrationReadyLaunch(config as LaunchConfiguration, {
        launcher: migrationReadyArgv(),
        defaultRuntime: vscode.workspace.getConfiguration('debug.javascript', folder?.uri).get<Record<string, string>>('defaultRuntimeExecutable')?.['pwa-node'],
        wrapperDir: join(context.globalStorageUri.fsPath, 'migration-ready'),
      });
      if (!launch) return config;
      if (launch.wrapper && !existsSync(launch.wrapper.file)) {
        const { file, text } = launch.wrapper;
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(`${file}.${process.pid}`, text, { mode: 0o755 });
        renameSync(`${file}.${process.pid}`, file); // whole, even when two launches write it at once
      }
      const how = launch.wrapper ? `runtimeExecutable ${launch.wrapper.file}` : `command ${String(launch.config.command)}`;
      log.info(`Debug launch '${config.name}' starts migration-ready (${fullSettingKey('migrationReady')}): ${how}`);
      return launch.config;
    },
  };
  for (const type of NODE_DEBUG_TYPES) context.subscriptions.push(vscode.debug.registerDebugConfigurationProvider(type, provider));
}
