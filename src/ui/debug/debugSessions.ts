// The debug sessions of this window and the process each one debugs. VS Code's API has no list of
// sessions, so they are tracked from their start; the debuggee (PID and inspector port) is asked
// of the debugger itself. js-debug (Node.js) runs each process in a child session under the one
// the user started: that child is the "concrete" session that can evaluate and detach.
import * as vscode from 'vscode';
import { DEBUG_TYPES } from '../common/contributions';
import type { WorkspaceOwner } from '../view/workspaceProcesses';

export type DebugRuntime = keyof typeof DEBUG_TYPES;

export interface Debuggee {
  /** On this machine: the extension host runs where its debug sessions' programs run. */
  pid: number;
  /** The inspector (or debugpy) port on 127.0.0.1 a debugger attaches to. */
  port: number;
  runtime: DebugRuntime;
}

export function runtimeOf(session: vscode.DebugSession): DebugRuntime | undefined {
  return (Object.keys(DEBUG_TYPES) as DebugRuntime[]).find((runtime) => (DEBUG_TYPES[runtime] as readonly string[]).includes(session.type));
}

/** Evaluated in the debuggee by js-debug: its PID and inspector URL. `process.getBuiltinModule`
 * exists from Node 20.16; `require` is not global in modules. */
const NODE_PROBE =
  "(() => { const i = process.getBuiltinModule ? process.getBuiltinModule('inspector') : process.mainModule && process.mainModule.require('inspector'); " +
  'return JSON.stringify({ pid: process.pid, url: i && i.url() }); })()';

/** Reads the probe's answer out of an evaluate result (js-debug may quote it as a string literal). */
export function parseNodeProbe(result: string): { pid: number; port?: number } | undefined {
  const json = /\{.*\}/.exec(result.replace(/\\"/g, '"'))?.[0];
  if (!json) return undefined;
  try {
    const { pid, url } = JSON.parse(json) as { pid?: unknown; url?: unknown };
    if (typeof pid !== 'number') return undefined;
    const port = typeof url === 'string' ? Number(/:(\d+)\//.exec(url)?.[1]) || undefined : undefined;
    return { pid, port };
  } catch {
    return undefined;
  }
}

export class DebugSessions implements vscode.Disposable {
  private readonly sessions = new Map<string, vscode.DebugSession>();
  /** Session id → its debuggee, asked once. */
  private readonly debuggees = new Map<string, Promise<Debuggee>>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    const active = vscode.debug.activeDebugSession;
    if (active) this.add(active);
    this.disposables.push(
      vscode.debug.onDidStartDebugSession((s) => this.add(s)),
      vscode.debug.onDidChangeActiveDebugSession((s) => s && this.add(s)),
      vscode.debug.onDidTerminateDebugSession((s) => {
        this.sessions.delete(s.id);
        this.debuggees.delete(s.id);
      }),
    );
  }

  get(id: string): vscode.DebugSession | undefined {
    return this.sessions.get(id);
  }

  list(): vscode.DebugSession[] {
    return [...this.sessions.values()];
  }

  /** The session that talks to the program: `session` itself, or its only child (js-debug). */
  concrete(session: vscode.DebugSession): vscode.DebugSession {
    if (runtimeOf(session) !== 'node' || '__pendingTargetId' in session.configuration) return session;
    const children = this.list().filter((s) => s.parentSession?.id === session.id);
    return children.length === 1 ? children[0] : session;
  }

  /** The session the user started (js-debug's child sessions hang under it). */
  root(session: vscode.DebugSession): vscode.DebugSession {
    let s = session;
    while (s.parentSession) s = s.parentSession;
    return s;
  }

  /** The program `session` debugs; rejects with one sentence when it cannot be told. */
  debuggee(session: vscode.DebugSession): Promise<Debuggee> {
    const concrete = this.concrete(session);
    let known = this.debuggees.get(concrete.id);
    if (!known) {
      known = askDebuggee(concrete);
      this.debuggees.set(concrete.id, known);
      known.catch(() => this.debuggees.delete(concrete.id));
    }
    return known;
  }

  /** Debuggees as roots of the Processes view's "this workspace" marks (workspaceProcesses.ts). */
  async roots(): Promise<Map<number, WorkspaceOwner>> {
    const roots = new Map<number, WorkspaceOwner>();
    const concrete = this.list().filter((s) => runtimeOf(s) && this.concrete(s) === s);
    await Promise.all(
      concrete.map(async (s) => {
        const d = await this.debuggee(s).catch(() => undefined);
        if (d) roots.set(d.pid, { kind: 'debug', label: `in debug session '${this.root(s).name}'`, icon: 'debug' });
      }),
    );
    return roots;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.sessions.clear();
    this.debuggees.clear();
  }

  private add(session: vscode.DebugSession): void {
    this.sessions.set(session.id, session);
    if (session.parentSession) this.add(session.parentSession);
  }
}

async function askDebuggee(session: vscode.DebugSession): Promise<Debuggee> {
  const runtime = runtimeOf(session);
  if (runtime === 'node') {
    const response = (await Promise.resolve(session.customRequest('evaluate', { expression: NODE_PROBE, context: 'repl' })).catch(() => undefined)) as
      | { result?: string }
      | undefined;
    const probe = response?.result ? parseNodeProbe(response.result) : undefined;
    const port = probe?.port ?? numberOr(session.configuration.port);
    if (!probe) throw new Error(`The debugger of '${session.name}' did not say which process it debugs; is the program still running?`);
    if (!port) throw new Error(`'${session.name}' debugs PID ${probe.pid}, but its inspector listens on no TCP port a debugger could attach to again.`);
    return { pid: probe.pid, port, runtime };
  }
  if (runtime === 'python') {
    const response = (await Promise.resolve(session.customRequest('evaluate', { expression: '__import__("os").getpid()', context: 'repl' })).catch(
      () => undefined,
    )) as { result?: string } | undefined;
    const pid = Number(response?.result);
    const port = numberOr(session.configuration.connect?.port) ?? numberOr(session.configuration.port);
    if (!pid) throw new Error(`The Python debugger of '${session.name}' did not say which process it debugs; is the program still running?`);
    // A launched program has no port to attach to again: its adapter is VS Code's and goes with the session.
    if (!port) throw new Error(`'${session.name}' launched its program, which listens on no port a debugger could attach to again; start it with \`python -m debugpy --listen PORT\` and attach to move it.`);
    return { pid, port, runtime };
  }
  throw new Error(`'${session.name}' is a ${session.type} session; only Node.js (and Python) debug sessions can be migrated.`);
}

function numberOr(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}
