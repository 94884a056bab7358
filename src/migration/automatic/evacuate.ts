// Evacuating a host: the user's processes leave it in one go, each where it fits. The moves run
// through the batch machinery (migrateMany), one batch per destination, all batches at once; a
// process that cannot move is named with its reason and is never frozen: its preflight (or its
// placement) stops it before any freeze, and a batch freezes only members that passed theirs.
import type { BatchRequest, BatchResult, EvacuateRequest, EvacuationResult, MigrateOptions, MigrationResult, Placement, PlacementRequest, ProcessInfo } from '../api';
import { AUTO_HOST } from '../api';
import { isKernelThread } from '../../helper/processList';

export interface EvacuationDeps {
  listProcesses(host: string): Promise<ProcessInfo[]>;
  /** The user the engine logs in as on `host` (its processes are the ones evacuated), and on
   * this machine the engine's own PID (the program running it must not move itself). */
  whoOn(host: string): Promise<{ user?: string; self?: number }>;
  migrateMany(request: BatchRequest, options?: MigrateOptions): Promise<BatchResult>;
  /** Engine.place; without it `to: 'auto'` finds nowhere. */
  place?(request: PlacementRequest): Promise<Placement>;
}

type Left = EvacuationResult['left'][number];

/** Placements run the full preflight on every candidate: a few at a time. */
const PLACEMENTS_AT_ONCE = 4;

export async function evacuate(deps: EvacuationDeps, request: EvacuateRequest, options: MigrateOptions = {}): Promise<EvacuationResult> {
  const started = performance.now();
  const { from } = request;
  const to = request.to ?? AUTO_HOST;
  const processes = await deps.listProcesses(from);
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const left: Left[] = [];
  const nameOf = (pid: number) => byPid.get(pid)?.name ?? '';

  let pids: number[];
  if (request.pids?.length) {
    pids = [];
    for (const pid of new Set(request.pids)) {
      if (byPid.has(pid)) pids.push(pid);
      else left.push({ pid, name: '', reason: `Process ${pid} does not run on ${from}.` });
    }
  } else {
    const { user, self } = await deps.whoOn(from);
    pids = migratableRoots(processes, user, self);
  }

  // Each process's destination: the one asked for, or where placement finds room.
  const destinations = new Map<string, number[]>();
  const placed = await mapLimited(pids, PLACEMENTS_AT_ONCE, async (pid) => {
    if (to !== AUTO_HOST) return { pid, to };
    if (!deps.place) return { pid, reason: `No host was chosen for process ${pid}: this engine cannot place processes; name a destination with --to.` };
    try {
      const placement = await deps.place({ pid, from, candidates: request.candidates });
      return placement.to ? { pid, to: placement.to, placement } : { pid, reason: placement.reason };
    } catch (err) {
      return { pid, reason: err instanceof Error ? err.message : String(err) };
    }
  });
  // The report says, per process, why its host was chosen and the others passed over.
  const placements = new Map(placed.flatMap((p) => (p.placement ? [[p.pid, p.placement] as const] : [])));
  for (const p of placed) {
    if (p.to === undefined) left.push({ pid: p.pid, name: nameOf(p.pid), reason: p.reason ?? '' });
    else destinations.set(p.to, [...(destinations.get(p.to) ?? []), p.pid]);
  }

  const batches = await Promise.all(
    [...destinations].map(([host, group]) => deps.migrateMany({ pids: group, from, to: host, strategy: request.strategy }, options)),
  );
  const moved: MigrationResult[] = [];
  for (const result of batches.flatMap((b) => b.processes)) {
    result.trigger ??= `evacuation of ${from}`;
    result.placement ??= placements.get(result.sourcePid);
    // Stopped before its freeze (its preflight, or early setup): it never left, and never paused.
    if (!result.ok && neverFrozen(result)) left.push({ pid: result.sourcePid, name: nameOf(result.sourcePid), reason: result.error ?? 'It could not be prepared for the move.' });
    else moved.push(result);
  }
  const failed = moved.filter((r) => !r.ok);
  return {
    ok: failed.length === 0,
    from,
    totalMs: Math.round(performance.now() - started),
    processes: moved,
    left,
    ...(failed.length ? { error: failed.map((r) => `Process ${r.sourcePid}: ${r.error}`).join(' ') } : {}),
  };
}

/** No freeze, no dump, no pre-copy round (which pauses it briefly): the process never stopped. */
function neverFrozen(r: MigrationResult): boolean {
  return r.freezeMs === 0 && r.phases.dump === undefined && r.phases.rounds === undefined;
}

/**
 * Which processes "every migratable process of the user" on a host means: the roots of the
 * user's own work, each moved with its tree. Left out, as infrastructure that must stay with its
 * host (or would be recreated there anyway):
 * - other users' processes, kernel threads, zombies, and PID 1 (the host's init);
 * - the host's daemons by name (sshd and its session processes, sftp-server, tmux and screen
 *   servers, systemd and its helpers, D-Bus, ssh/gpg agents, cron, getty, container inits) and
 *   every ancestor of sshd (the init chain that runs it, such as a container's supervisor);
 * - services of a systemd user manager (its descendants): the manager restarts its units, so a
 *   copy elsewhere would run twice;
 * - the Process Migrator helper and everything it runs, and a VS Code server;
 * - on this machine, the program running the engine (the CLI, or VS Code), with the tree it
 *   belongs to up to its session;
 * - session shells: a shell whose parent is sshd, tmux, screen or login stays (it is the user's
 *   connection), and the programs started from it are the work that moves;
 * - as root on a host whose PID 1 is systemd, the direct children of PID 1: those are system
 *   services (`--pid` names a process anyway).
 * What remains and has no remaining ancestor is a root: its children move with it.
 */
export function migratableRoots(processes: readonly ProcessInfo[], user: string | undefined, self?: number): number[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const parentOf = (p: ProcessInfo) => byPid.get(p.ppid);
  const ancestors = function* (p: ProcessInfo) {
    const seen = new Set<number>();
    for (let a = parentOf(p); a && !seen.has(a.pid); a = parentOf(a)) {
      seen.add(a.pid);
      yield a;
    }
  };
  const initChain = new Set<number>();
  for (const p of processes) if (isSshd(p)) for (const a of ancestors(p)) initChain.add(a.pid);
  const systemdPid1 = byPid.get(1)?.name === 'systemd';
  const isSessionShell = (p: ProcessInfo) => {
    const parent = parentOf(p);
    return !!parent && SHELL.test(p.name) && (isSshd(parent) || SESSION_HOLDER.test(parent.name));
  };
  const stays = (p: ProcessInfo) => p.pid === 1 || INFRASTRUCTURE.test(p.name) || initChain.has(p.pid) || isSessionShell(p);
  // The engine's own program: its tree, from the highest ancestor below its session.
  let own = self === undefined ? undefined : byPid.get(self);
  for (let a = own && parentOf(own); own && a && !stays(a); a = parentOf(a)) own = a;

  const eligible = (p: ProcessInfo): boolean => {
    if (p.user !== user || p.pid === 1 || isKernelThread(p) || p.state.startsWith('Z')) return false;
    if (stays(p) || INFRASTRUCTURE_COMMAND.test(p.command) || p.pid === own?.pid) return false;
    if (user === 'root' && systemdPid1 && p.ppid === 1) return false;
    for (const a of ancestors(p)) {
      if (a.pid === own?.pid) return false;
      if (a.pid !== 1 && (a.name === 'systemd' || isHelper(a) || VSCODE_SERVER.test(a.command))) return false;
    }
    return true;
  };
  const kept = new Set(processes.filter(eligible).map((p) => p.pid));
  return [...kept].filter((pid) => {
    for (const a of ancestors(byPid.get(pid)!)) if (kept.has(a.pid)) return false;
    return true;
  });
}

const INFRASTRUCTURE = /^(sshd|sshd-session|sshd-auth|sftp-server|tmux: server|tmux|screen|SCREEN|systemd|\(sd-pam\)|dbus-daemon|dbus-broker|ssh-agent|gpg-agent|login|agetty|getty|cron|crond|atd|tini|dumb-init|init|runsv|runsvdir|s6-svscan|s6-supervise)$/;
/** The helper (`sh …/process-migrator/helper-HASH.sh`, started as `procmig-helper`) and a VS Code server. */
const INFRASTRUCTURE_COMMAND = /process-migrator\/helper-[0-9a-f]+\.sh|^procmig-helper |\.vscode-server\/|\/code-server\b/;
const VSCODE_SERVER = /\.vscode-server\/|\/code-server\b/;
const SHELL = /^-?(sh|bash|dash|zsh|fish|ksh|mksh|tcsh|csh)$/;
const SESSION_HOLDER = /^(tmux: server|tmux|screen|SCREEN|login)$/;

function isSshd(p: ProcessInfo): boolean {
  return /^sshd(-session|-auth)?$/.test(p.name);
}

function isHelper(p: ProcessInfo): boolean {
  return INFRASTRUCTURE_COMMAND.test(p.command) && !VSCODE_SERVER.test(p.command);
}

/** *Bring Back All*: the moved processes grouped into one batch per host they now run on, each
 * back to its home (`from` of its result). */
export function bringBackRequests(moved: readonly MigrationResult[]): BatchRequest[] {
  const batches = new Map<string, BatchRequest>();
  for (const r of moved) {
    if (!r.ok || r.destinationPid === undefined) continue;
    const key = `${r.to}\n${r.from}`;
    const batch = batches.get(key) ?? { pids: [], from: r.to, to: r.from };
    batch.pids.push(r.destinationPid);
    batches.set(key, batch);
  }
  return [...batches.values()];
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
