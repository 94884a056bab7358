// Every command ID, view ID, context key and setting key the extension contributes, in one place,
// with typed access to the settings. package.json must agree with these names (a test checks it).
import type { Strategy } from '../../migration/api';

export const EXTENSION_ID = 'process-migrator.process-migrator';

export const enum Commands {
  Migrate = 'processMigrator.migrate',
  MigrateTo = 'processMigrator.migrateTo',
  MigrateToBestHost = 'processMigrator.migrateToBestHost',
  CheckHost = 'processMigrator.checkHost',
  SetUpHost = 'processMigrator.setUpHost',
  AddHost = 'processMigrator.addHost',
  Refresh = 'processMigrator.refresh',
  ShowReport = 'processMigrator.showReport',
  ShowLog = 'processMigrator.showLog',
  Filter = 'processMigrator.filter',
  ClearFilter = 'processMigrator.clearFilter',
  ToggleOnlyMine = 'processMigrator.toggleOnlyMine',
  ToggleHideSystem = 'processMigrator.toggleHideSystem',
  MigrateDebugSession = 'processMigrator.migrateDebugSession',
  StopForwarding = 'processMigrator.stopForwarding',
  BringBack = 'processMigrator.bringBack',
  Protect = 'processMigrator.protect',
  StopProtecting = 'processMigrator.stopProtecting',
  EvacuateHost = 'processMigrator.evacuateHost',
  BringBackAll = 'processMigrator.bringBackAll',
  AllowAutomaticMoves = 'processMigrator.allowAutomaticMoves',
  DisallowAutomaticMoves = 'processMigrator.disallowAutomaticMoves',
}

export const enum Views {
  Container = 'processMigrator',
  Processes = 'processMigrator.processes',
}

/** `contextValue`s of tree items (package.json menus match `viewItem == …`). */
export const enum ItemContext {
  Host = 'host',
  HostUnreachable = 'host-unreachable',
  /** A host an evacuation moved processes off, still away: *Bring Back All* returns them. */
  HostEvacuated = 'host-evacuated',
  Process = 'process',
  /** A process this workspace migrated here: it can be brought back. */
  MigratedProcess = 'process-migrated',
  /** Appended to a process row's context when a policy may move it (`process-marked`,
   * `process-migrated-marked`): *Stop Automatic Moves* matches it. */
  MarkedSuffix = '-marked',
  Message = 'message',
  Forwards = 'forwards',
  Forward = 'forward',
}

/** Context keys set with `setContext` (package.json `when` clauses). */
export const enum ContextKeys {
  Filtered = 'processMigrator.filtered',
}

/** Debug session types whose program *Migrate Debug Session* can move, by runtime (package.json's
 * `debug/callstack/context` and `debug/toolBar` menus match these `debugType`s). */
export const DEBUG_TYPES = {
  /** VS Code's built-in JavaScript debugger for Node.js. */
  node: ['pwa-node', 'node', 'node-terminal'],
  /** The Python debugger (debugpy). */
  python: ['python', 'debugpy'],
} as const;

/** The terminal profile whose shell runs migration-ready (package.json `terminal.profiles`; VS Code
 * names a contributed profile by its title in `terminal.integrated.defaultProfile.*`). */
export const MIGRATION_READY_PROFILE = {
  id: 'processMigrator.migrationReadyTerminal',
  title: 'Process Migrator (migration-ready)',
} as const;

export const SETTINGS_SECTION = 'processMigrator';

export interface Settings {
  /** Extra hosts (ssh_config aliases or `user@host[:port]`) shown besides `local` and ssh_config's. */
  hosts: string[];
  /** ssh_config to read instead of ~/.ssh/config (empty: the default). */
  sshConfigFile: string;
  /** Seconds between automatic refreshes of the process view; 0 turns it off. */
  autoRefreshSeconds: number;
  /** How processes move unless a migration asks otherwise (the migrate picker can change it). */
  strategy: Strategy;
  /** Forward the ports a migrated process listened on from its origin's loopback to it. */
  forwardPorts: boolean;
  /** This workspace's terminals (its default profile) and Node.js debug launches start migration-ready. */
  migrationReady: boolean;
  /** The policy rules (src/automatic/policy.ts), unchecked: `{}` (or no rules) runs none. */
  policies: Record<string, unknown>;
}

export type SettingKey = keyof Settings;

export const SETTING_DEFAULTS: Settings = {
  hosts: [],
  sshConfigFile: '',
  autoRefreshSeconds: 10,
  strategy: 'auto',
  forwardPorts: true,
  migrationReady: false,
  policies: {},
};

/** The minimum a configuration source must offer (vscode.WorkspaceConfiguration satisfies it). */
export interface ConfigurationLike {
  get<T>(section: string): T | undefined;
}

export function readSetting<K extends SettingKey>(config: ConfigurationLike, key: K): Settings[K] {
  const value = config.get<Settings[K]>(key);
  return value === undefined || value === null ? SETTING_DEFAULTS[key] : value;
}

export function fullSettingKey(key: SettingKey): string {
  return `${SETTINGS_SECTION}.${key}`;
}

/** Expands `~` and `${env:HOME}`-style prefixes users write in path settings. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return home + path.slice(1);
  return path.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => process.env[name] ?? '');
}
