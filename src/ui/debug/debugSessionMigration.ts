// Migrate Debug Session…: moves the program a debug session debugs to another host and debugs it
// there. The debugger detaches first (the program runs on; js-debug's detach resumes a paused
// program), the process migrates like any other (its inspector connection closed, its inspector
// port listening on the destination and forwarded back to this machine's loopback), and an attach
// session named "<name> @ <host>" takes over. debugpy's adapter is a process of its own (it
// listens on the debug port and daemonizes out of the program's tree): it moves in the same
// batch, keeping its loopback connection to the program. Breakpoints are VS Code's, not the session's: they
// stay and bind again in the new session. If the move fails the process resumes here and the
// debugger attaches to it again.
import * as vscode from 'vscode';
import type { MigrationResult } from '../../migration/api';
import { runBatchMigration } from '../migrate/batchMigration';
import { Commands } from '../common/contributions';
import type { Debuggee, DebugSessions } from './debugSessions';
import { pickDestination, runMigration } from '../migrate/migrate';
import type { MigrationDeps } from '../migrate/migrationDeps';
import { LOCAL_HOST, errorMessage } from '../view/processModel';
import { resolveTracer, type TracerDecision } from '../migrate/tracerPrompt';

export interface DebugMigrationDeps extends MigrationDeps {
  sessions: DebugSessions;
}

/** Extra arguments for callers other than the UI (tests, other extensions). */
export interface MigrateDebugSessionOptions {
  /** What to do when a tracer (gdb, strace) holds the program; default: ask. */
  tracer?: TracerDecision;
  /** Aborts the migration like the notification's Cancel button. */
  signal?: AbortSignal;
}

export interface DebugSessionMove {
  debuggee: Debuggee;
  result: MigrationResult;
  /** The attach session on the destination (or here again, after a failed move). */
  session?: vscode.DebugSession;
}

/** Launch settings worth keeping in the attach session that replaces the original. */
const CARRIED = {
  node: ['skipFiles', 'sourceMaps', 'outFiles', 'resolveSourceMapLocations', 'sourceMapPathOverrides', 'smartStep', 'showAsyncStacks', 'cwd'],
  python: ['justMyCode', 'pathMappings', 'redirectOutput', 'subProcess', 'cwd'],
};

const DETACH_TIMEOUT_MS = 10_000;

/** The session a command was invoked on: a Call Stack row (`{sessionId}`), a session, or the focused one. */
async function sessionOf(sessions: DebugSessions, target: unknown): Promise<vscode.DebugSession | undefined> {
  const id = target && typeof target === 'object' ? ((target as { sessionId?: unknown; id?: unknown }).sessionId ?? (target as { id?: unknown }).id) : undefined;
  if (typeof id === 'string') return sessions.get(id) ?? (vscode.debug.activeDebugSession?.id === id ? vscode.debug.activeDebugSession : undefined);
  if (vscode.debug.activeDebugSession) return vscode.debug.activeDebugSession;
  const roots = sessions.list().filter((s) => !s.parentSession);
  if (roots.length <= 1) return roots[0];
  const pick = await vscode.window.showQuickPick(
    roots.map((s) => ({ label: s.name, description: s.type, session: s })),
    { title: 'Migrate Debug Session', placeHolder: 'The debug session whose program moves' },
  );
  return pick?.session;
}

function terminated(session: vscode.DebugSession): Promise<void> {
  return new Promise((resolve) => {
    const done = vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.id !== session.id) return;
      done.dispose();
      clearTimeout(timer);
      resolve();
    });
    const timer = setTimeout(() => {
      done.dispose();
      resolve();
    }, DETACH_TIMEOUT_MS);
  });
}

/** Ends the debugger's hold on the program without ending the program. */
async function detach(sessions: DebugSessions, session: vscode.DebugSession): Promise<void> {
  const concrete = sessions.concrete(session);
  const root = sessions.root(session);
  const gone = terminated(concrete);
  // A DAP disconnect that keeps the debuggee: js-debug detaches from the process (for a launched
  // program too), where VS Code's Stop would terminate it.
  await Promise.resolve(concrete.customRequest('disconnect', { restart: false, terminateDebuggee: false })).catch(() => undefined);
  await gone;
  // An attach session is only a connection: end it. A launch session owns the process and would
  // kill it on stop: it ends by itself once the process leaves this machine.
  if (root.id !== concrete.id && root.configuration.request === 'attach') await vscode.debug.stopDebugging(root);
}

/** Starts an attach session on 127.0.0.1:port (`node`, or the original's Python type); resolves
 * to it (undefined if it did not start). */
async function attach(original: vscode.DebugSession, debuggee: Debuggee, name: string): Promise<vscode.DebugSession | undefined> {
  const { port, runtime } = debuggee;
  // VS Code renames a session whose name is taken ("name 2"): the marker finds it.
  const marker = `${Date.now()}:${port}`;
  const config: vscode.DebugConfiguration =
    runtime === 'python'
      ? { type: original.type, request: 'attach', name, connect: { host: '127.0.0.1', port }, processMigratorAttach: marker }
      : { type: 'node', request: 'attach', name, address: '127.0.0.1', port, continueOnAttach: true, processMigratorAttach: marker };
  for (const key of CARRIED[runtime]) if (original.configuration[key] !== undefined) config[key] = original.configuration[key];
  let started: vscode.DebugSession | undefined;
  const listener = vscode.debug.onDidStartDebugSession((s) => {
    if (!started && s.configuration.processMigratorAttach === marker && !s.parentSession) started = s;
  });
  try {
    const ok = await vscode.debug.startDebugging(original.workspaceFolder, config);
    return ok ? started : undefined;
  } finally {
    listener.dispose();
  }
}

/**
 * `processMigrator.migrateDebugSession` (session?, destination?, options?): the session is a Call
 * Stack row, a DebugSession or nothing (the focused one). Resolves to what happened, or undefined
 * when nothing moved (a picker dismissed, a problem the user was told about).
 */
export async function migrateDebugSession(
  deps: DebugMigrationDeps,
  target?: unknown,
  destination?: unknown,
  options: MigrateDebugSessionOptions = {},
): Promise<DebugSessionMove | undefined> {
  const { sessions, log } = deps;
  const session = await sessionOf(sessions, target);
  if (!session) {
    void vscode.window.showInformationMessage('There is no debug session to migrate.');
    return undefined;
  }
  const root = sessions.root(session);
  let debuggee: Debuggee;
  try {
    debuggee = await sessions.debuggee(session);
  } catch (err) {
    void vscode.window.showErrorMessage(errorMessage(err));
    return undefined;
  }
  const what = `'${root.name}' (PID ${debuggee.pid})`;
  const to =
    typeof destination === 'string' ? destination : await pickDestination(deps.model, LOCAL_HOST, `Migrate debug session ${what} to…`);
  if (!to) return undefined;
  if (!(await resolveTracer(deps.engine, LOCAL_HOST, debuggee.pid, what, options.tracer))) return undefined;

  log.info(`Debug session ${what}: detaching the debugger (port ${debuggee.port}) before the move to ${to}`);
  await detach(sessions, session);
  if (['gone', 'zombie'].includes(await deps.engine.processState(LOCAL_HOST, debuggee.pid).catch(() => 'running'))) {
    void vscode.window.showErrorMessage(`${what} ended when its debugger detached; nothing was migrated.`);
    return undefined;
  }

  await deps.model.refresh([LOCAL_HOST]);
  // debugpy: the process listening on the port is its adapter, unless the program is (an
  // in-process adapter). The adapter and the program move together, linked as they were.
  const listener = debuggee.runtime === 'python' ? await deps.engine.listenerOf(LOCAL_HOST, debuggee.port).catch(() => undefined) : undefined;
  const adapter = listener && listener !== debuggee.pid ? listener : undefined;
  let result: MigrationResult;
  let portOwner: MigrationResult;
  if (adapter) {
    log.info(`Debug session ${what}: debugpy's adapter (PID ${adapter}) listens on port ${debuggee.port}; it moves with the program`);
    const batch = await runBatchMigration(deps, { pids: [debuggee.pid, adapter], from: LOCAL_HOST, to }, { signal: options.signal, forwardPorts: true });
    const of = (pid: number) => batch.processes.find((p) => p.sourcePid === pid);
    result = of(debuggee.pid) ?? batch.processes[0];
    portOwner = of(adapter) ?? result;
    if (result.ok && !portOwner.ok) result = { ...portOwner, sourcePid: debuggee.pid };
  } else {
    result = await runMigration(deps, { pid: debuggee.pid, from: LOCAL_HOST, to }, { signal: options.signal, forwardPorts: true });
    portOwner = result;
  }
  if (!result.ok) {
    log.info(`Debug session ${what}: the move failed; attaching to it here again`);
    return { debuggee, result, session: await attach(root, debuggee, root.name) };
  }
  // The migration forwards the ports it listened on; make sure the debug port is among them.
  const forwarded = deps.forwards?.forProcess(to, portOwner.destinationPid!).some((f) => f.port === debuggee.port);
  if (!forwarded && deps.forwards) {
    const record = await deps.forwards.forward({ origin: LOCAL_HOST, destination: to, port: debuggee.port, pid: portOwner.destinationPid!, name: root.name });
    if (record.error) {
      void vscode.window.showErrorMessage(`${what} runs on ${to}, but its debug port ${debuggee.port} cannot be forwarded here: ${record.error}`);
      return { debuggee, result };
    }
  }
  const name = `${root.name} @ ${to}`;
  const attached = await attach(root, debuggee, name);
  if (!attached) void vscode.window.showErrorMessage(`${what} runs on ${to}, but the debugger could not attach to it through localhost:${debuggee.port}.`);
  else log.info(`Debug session ${what}: '${name}' attached through localhost:${debuggee.port}; stopping it leaves the program running on ${to}`);
  return { debuggee, result, session: attached };
}

export function registerDebugSessionMigration(context: vscode.ExtensionContext, deps: DebugMigrationDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.MigrateDebugSession, (target?: unknown, destination?: unknown, options?: MigrateDebugSessionOptions) =>
      migrateDebugSession(deps, target, destination, options),
    ),
  );
}
