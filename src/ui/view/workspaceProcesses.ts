// Which of this machine's processes the workspace started: the shells of its integrated terminals
// (and whatever runs under them), marked in the Processes view. Each kind of owner is one root
// source; add a source (debug sessions, tasks…) to `ROOT_SOURCES`.
import * as vscode from 'vscode';
import type { ProcessInfo } from '../../migration/api';

export interface WorkspaceOwner {
  kind: 'terminal' | 'debug';
  /** Shown after the process's figures: `in terminal 'bash'`. */
  label: string;
  /** Codicon id for the row. */
  icon: string;
}

/** Local PIDs at the top of a tree the workspace owns, with their owner. */
export type RootSource = () => Promise<Map<number, WorkspaceOwner>>;

/** Each integrated terminal's shell (its `processId`, a local PID: the extension host runs here). */
export async function terminalRoots(): Promise<Map<number, WorkspaceOwner>> {
  const roots = new Map<number, WorkspaceOwner>();
  await Promise.all(
    vscode.window.terminals.map(async (terminal) => {
      // A terminal still starting may take its time: the view must not wait on it.
      const pid = await Promise.race([Promise.resolve(terminal.processId), delay(2000)]).catch(() => undefined);
      if (pid) roots.set(pid, { kind: 'terminal', label: `in terminal '${terminal.name}'`, icon: 'terminal' });
    }),
  );
  return roots;
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

export const ROOT_SOURCES: RootSource[] = [terminalRoots];

/** Adds a source that needs a service (debug sessions: debugSessions.ts), until disposed. */
export function addRootSource(source: RootSource): { dispose(): void } {
  ROOT_SOURCES.push(source);
  return {
    dispose: () => {
      const i = ROOT_SOURCES.indexOf(source);
      if (i >= 0) ROOT_SOURCES.splice(i, 1);
    },
  };
}

/** Local PID → owner for every process under a workspace root (the roots included). */
export async function workspaceOwners(processes: readonly ProcessInfo[]): Promise<Map<number, WorkspaceOwner>> {
  const roots = new Map<number, WorkspaceOwner>();
  for (const found of await Promise.all(ROOT_SOURCES.map((source) => source().catch(() => new Map<number, WorkspaceOwner>())))) {
    for (const [pid, owner] of found) roots.set(pid, owner);
  }
  return ownersByDescent(processes, roots);
}

/** Gives each process the owner of its nearest listed ancestor that is a root (or itself). */
export function ownersByDescent(processes: readonly ProcessInfo[], roots: ReadonlyMap<number, WorkspaceOwner>): Map<number, WorkspaceOwner> {
  const parents = new Map(processes.map((p) => [p.pid, p.ppid]));
  const owners = new Map<number, WorkspaceOwner>();
  if (roots.size === 0) return owners;
  for (const p of processes) {
    const seen = new Set<number>();
    for (let pid: number | undefined = p.pid; pid && pid > 1 && !seen.has(pid); pid = parents.get(pid)) {
      seen.add(pid);
      const owner = roots.get(pid);
      if (owner) {
        owners.set(p.pid, owner);
        break;
      }
    }
  }
  return owners;
}
