// Builds the services (one engine, one model, one history, one log) and registers each UI feature.
// Nothing else lives here: every feature is a `registerX(context, deps)` under src/ui/, one folder per feature.
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import type { EngineOptions } from './migration/api';
import { createEngine } from './migration/engine';
import { HostStates } from './automatic/hostStates';
import { listConfiguredHosts } from './transport/hostPool';
import { defaultSshConfigFile } from './transport/sshConfig';
import { expandHome, fullSettingKey, readSetting, SETTINGS_SECTION } from './ui/common/contributions';
import { ReconfigurableEngine, type EngineFactory } from './ui/hosts/engineHost';
import { MigrationHistory } from './ui/report/history';
import { registerHostCommands } from './ui/hosts/hostCommands';
import { createHostPrompts } from './ui/hosts/hostPrompts';
import { registerDebugSessionMigration } from './ui/debug/debugSessionMigration';
import { DebugSessions } from './ui/debug/debugSessions';
import { registerBringBack } from './ui/migrate/bringBack';
import { registerProtect } from './ui/protect/protectCommand';
import { registerMarkCommands } from './ui/policies/markCommands';
import { PolicyMarks } from './ui/policies/policyMarks';
import { currentPolicySetting, registerPolicies, type PolicyRunner } from './ui/policies/policyRunner';
import { registerBringBackAll } from './ui/migrate/bringBackAll';
import { registerEvacuation } from './ui/migrate/evacuateHost';
import { registerMigration } from './ui/migrate/migrate';
import { registerMigrationReady } from './ui/terminals/migrationReady';
import { registerPortForwards } from './ui/forwards/forwardCommand';
import { PortForwards } from './ui/forwards/portForwards';
import { ProcessModel } from './ui/view/processModel';
import { registerProcessView } from './ui/view/processView';
import type { ProcessTreeProvider } from './ui/view/processTree';
import { registerReport } from './ui/report/reportPanel';
import { TerminalMoves } from './ui/terminals/terminalMoves';
import { addRootSource } from './ui/view/workspaceProcesses';

/** What `activate` returns: the services, for tests and other extensions. */
export interface ProcessMigratorApi {
  readonly engine: ReconfigurableEngine;
  readonly model: ProcessModel;
  readonly history: MigrationHistory;
  readonly tree: ProcessTreeProvider;
  readonly log: vscode.LogOutputChannel;
  /** Ports of migrated processes forwarded from where they came from. */
  readonly forwards: PortForwards;
  /** Moved terminal processes' new terminals. */
  readonly terminals: TerminalMoves;
  /** This window's debug sessions and the programs they debug. */
  readonly debugSessions: DebugSessions;
  /** The processes a policy may move, and the policy watcher of processMigrator.policies. */
  readonly marks: PolicyMarks;
  readonly policies: PolicyRunner;
}

export interface ServiceFactories {
  createEngine: EngineFactory;
  listConfiguredHosts: (sshConfigFile?: string) => string[];
}

const defaultFactories: ServiceFactories = { createEngine: (options) => createEngine(options), listConfiguredHosts };

export function activate(context: vscode.ExtensionContext): ProcessMigratorApi {
  return activateWith(context, defaultFactories);
}

export function activateWith(context: vscode.ExtensionContext, factories: ServiceFactories): ProcessMigratorApi {
  const log = vscode.window.createOutputChannel('Process Migrator', { log: true });
  context.subscriptions.push(log);
  const config = () => vscode.workspace.getConfiguration(SETTINGS_SECTION);
  /** The setting, expanded; undefined means ~/.ssh/config. */
  const configuredSshFile = () => {
    const value = readSetting(config(), 'sshConfigFile').trim();
    return value ? expandHome(value, homedir()) : undefined;
  };

  const prompts = createHostPrompts(context.secrets, log);
  const engineOptions = (): EngineOptions => ({ ...prompts, sshConfigFile: configuredSshFile(), log: (line) => log.debug(line) });
  const engine = new ReconfigurableEngine(factories.createEngine, engineOptions());
  const model = new ProcessModel({
    engine,
    listHosts: () => [...factories.listConfiguredHosts(configuredSshFile()), ...readSetting(config(), 'hosts')],
    myUid: process.getuid?.() ?? -1,
    log: (line) => log.warn(line),
  });
  const hostStates = new HostStates(engine);
  context.subscriptions.push({ dispose: () => hostStates.dispose() });
  const history = new MigrationHistory(context.workspaceState);
  const forwards = new PortForwards({ engine, memento: context.workspaceState, log: (line) => log.info(line) });
  void forwards.restore(); // those of the previous window, to processes still where they went
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(fullSettingKey('sshConfigFile'))) {
        engine.reconfigure(engineOptions());
        void forwards.reestablish(); // they ran over the old engine's connections
        void model.refresh();
      }
    }),
    { dispose: () => model.dispose() },
    forwards,
    { dispose: () => void engine.dispose() },
  );

  registerReport(context, { history });
  const terminals = new TerminalMoves(engine, log);
  context.subscriptions.push(terminals);
  const migrate = registerMigration(context, { engine, model, hostStates, history, log, terminals, forwards });
  registerPortForwards(context, { forwards });
  registerBringBack(context, { engine, model, hostStates, history, log, terminals, forwards });
  registerEvacuation(context, { engine, model, hostStates, history, log, terminals, forwards });
  registerBringBackAll(context, { engine, model, hostStates, history, log, terminals, forwards });
  registerProtect(context, { engine, model, log });
  const marks = new PolicyMarks(context.workspaceState);
  registerMarkCommands(context, { model, marks, hasRules: () => currentPolicySetting().state === 'on' });
  const policies = registerPolicies(context, { engine, model, hostStates, history, log, terminals, forwards, marks });
  const debugSessions = new DebugSessions();
  context.subscriptions.push(debugSessions, addRootSource(() => debugSessions.roots()));
  registerDebugSessionMigration(context, { engine, model, hostStates, history, log, forwards, terminals, sessions: debugSessions });
  const tree = registerProcessView(context, { model, migrate: migrate.one, migrateMany: migrate.many, forwards, history, hostStates, marks });
  registerHostCommands(context, { model, log, sshConfigFile: () => configuredSshFile() ?? defaultSshConfigFile() });
  registerMigrationReady(context, { log });

  log.info(`Activated; hosts: ${model.hostNames().join(', ')}`);
  return { engine, model, history, tree, log, terminals, forwards, debugSessions, marks, policies };
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
