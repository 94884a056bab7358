// What starting migration-ready changes in VS Code's configuration, host-free (unit-tested): the
// shell the Process Migrator terminal profile runs, this workspace's default terminal profile while
// `processMigrator.migrationReady` is on, and Node.js launch configurations (js-debug's types).
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { commandLine, shellQuote } from '../../transport/sshHost';
import { MIGRATION_READY_PROFILE } from '../common/contributions';

/** An entry of `terminal.integrated.profiles.linux` (the parts a shell needs). */
export interface TerminalProfileSetting {
  path?: string | string[];
  args?: string[] | string;
  env?: Record<string, string | null>;
}

export interface Shell {
  path: string;
  args: string[];
  env?: Record<string, string | null>;
}

/**
 * The shell the profile runs under the launcher: the first of `defaultProfiles` (the user's
 * choices, most specific first) that is not this profile and names a profile with a path, else
 * $SHELL, else /bin/sh. Of a profile's paths, the first that exists (a bare name is looked up in
 * PATH when it starts).
 */
export function migrationReadyShell(
  defaultProfiles: readonly (string | null | undefined)[],
  profiles: Record<string, TerminalProfileSetting | null | undefined>,
  env: { SHELL?: string },
  exists: (path: string) => boolean,
): Shell {
  for (const name of defaultProfiles) {
    if (!name || name === MIGRATION_READY_PROFILE.title) continue;
    const profile = profiles[name];
    const paths = typeof profile?.path === 'string' ? [profile.path] : (profile?.path ?? []);
    const path = paths.find((p) => !p.includes('/') || exists(p));
    if (!path) continue;
    const args = Array.isArray(profile?.args) ? profile.args : [];
    return { path, args, ...(profile?.env ? { env: profile.env } : {}) };
  }
  return { path: env.SHELL || '/bin/sh', args: [] };
}

/**
 * The change to this workspace's `terminal.integrated.defaultProfile.linux`: `{ value }` to write
 * (undefined removes it), or undefined to leave it. On: the Process Migrator profile. Off: what it
 * was before (`previous`), if it still is the Process Migrator profile.
 */
export function defaultProfileChange(on: boolean, current: string | undefined, previous: string | undefined): { value: string | undefined } | undefined {
  const ours = current === MIGRATION_READY_PROFILE.title;
  if (on) return ours ? undefined : { value: MIGRATION_READY_PROFILE.title };
  return ours ? { value: previous } : undefined;
}

/** js-debug's Node.js types (`node` is an alias it resolves to `pwa-node`). */
export const NODE_DEBUG_TYPES = ['node', 'pwa-node', 'node-terminal'] as const;

/** Set on a launch configuration once it starts migration-ready (VS Code may resolve it twice). */
export const MIGRATION_READY_MARK = 'processMigratorMigrationReady';

export interface LaunchConfiguration {
  type: string;
  request: string;
  name: string;
  [key: string]: unknown;
}

export interface MigrationReadyLaunch {
  config: LaunchConfiguration;
  /** A script to write (mode 0755) before the launch, unless it is there already. */
  wrapper?: { file: string; text: string };
}

export interface LaunchContext {
  /** argv of the launcher without the command (migrationReadyArgv()). */
  launcher: readonly string[];
  /** js-debug's runtime when the configuration names none (`debug.javascript.defaultRuntimeExecutable`). */
  defaultRuntime?: string;
  /** Where the wrappers live (the extension's global storage). */
  wrapperDir: string;
}

/**
 * The sh script that runs `command` (the launcher and the runtime) with the wrapper's arguments.
 * js-debug's internal console gives the program sockets for stdin, stdout and stderr that lead to
 * js-debug, which stays: CRIU cannot take such sockets along. Pipes through `cat` it can (the
 * migration gives them a file on the destination), so the output reaches the Debug Console
 * through them until the program moves, and the program's exit code is the wrapper's. On a
 * terminal (`console`: integratedTerminal, externalTerminal) the runtime simply replaces it.
 */
function runtimeWrapper(command: string, runtime: string): string {
  return `#!/bin/sh
# Process Migrator: runs ${runtime} migration-ready (io_uring_setup fails, so CRIU can move it) for a debug launch.
if ! [ -S /dev/stdin ] && ! [ -S /dev/stdout ] && ! [ -S /dev/stderr ]; then exec ${command} "$@"; fi
[ -S /dev/stdin ] && exec </dev/null
exec 3>&1 4>&2
code=$( { { { ${command} "$@" 3>&- 4>&- 5>&-; echo $? >&5; } | cat >&3; } 2>&1 | cat >&4; } 5>&1 )
exit "\${code:-1}"
`;
}

/**
 * A Node.js `launch` configuration that starts its program migration-ready, or undefined when
 * there is nothing to change (an attach, another type, already done, js-debug's child session, a
 * Debug Terminal without a command). `node`/`pwa-node`: `runtimeExecutable` becomes a sh wrapper
 * that runs the original runtime under the launcher, named like it: js-debug judges a runtime by
 * its name (a `node` is asked its `--version`, which the wrapper passes on; an `npm` is not), so
 * it treats the wrapper as it would the runtime. The launcher's filter is inherited by the
 * program's children and by js-debug's bootloader in it, whatever `console` shows it.
 * `node-terminal`: its command runs under the launcher through sh.
 */
export function migrationReadyLaunch(config: LaunchConfiguration, context: LaunchContext): MigrationReadyLaunch | undefined {
  if (config.request !== 'launch' || !(NODE_DEBUG_TYPES as readonly string[]).includes(config.type)) return undefined;
  // Done already; or one of js-debug's child sessions, which attaches to a program it started.
  if (config[MIGRATION_READY_MARK] || '__pendingTargetId' in config) return undefined;
  if (config.type === 'node-terminal') {
    if (typeof config.command !== 'string' || !config.command.trim()) return undefined;
    return { config: { ...config, command: `${commandLine([...context.launcher, 'sh', '-c'])} ${shellQuote(config.command)}`, [MIGRATION_READY_MARK]: true } };
  }
  const named = typeof config.runtimeExecutable === 'string' && config.runtimeExecutable ? config.runtimeExecutable : undefined;
  if (named?.startsWith(join(context.wrapperDir, '/'))) return undefined; // a wrapper (the mark was dropped)
  const runtime = named ?? context.defaultRuntime ?? 'node';
  const text = runtimeWrapper(commandLine([...context.launcher, runtime]), runtime);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const file = join(context.wrapperDir, hash, basename(runtime));
  return { config: { ...config, runtimeExecutable: file, [MIGRATION_READY_MARK]: true }, wrapper: { file, text } };
}
