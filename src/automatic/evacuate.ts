// Evacuate a host: every migratable process tree of the user (or the chosen ones) moves off it,
// each where it fits. Every tree is placed first, with the full preflight and nothing frozen; a
// tree that cannot move is left with its one sentence and is never frozen. The trees bound for
// one host then move as one batch (migrateMany), the batches in parallel.
import type { BatchResult, Engine, MigrateOptions, MigrationResult, ProcessInfo, Strategy } from '../migration/api';
import type { HostStates } from './hostStates';
import { assess, rankHosts, withReserved, type Assessment } from './placement';

export interface EvacuationRequest {
  from: string;
  /** A host, or `auto`: each tree goes where it has the most headroom. */
  to: string;
  /** With `auto`: the hosts to choose among. */
  among: readonly string[];
  /** Only these trees (default: every migratable tree of the user on `from`). */
  pids?: readonly number[];
  strategy?: Strategy;
}

export interface LeftProcess {
  pid: number;
  name: string;
  /** Why it stays, in one sentence. */
  reason: string;
}

export interface EvacuationResult {
  /** True when every tree that could move runs elsewhere. */
  ok: boolean;
  from: string;
  /** One per moved tree, the same fields as `migrate --json`. */
  results: MigrationResult[];
  left: LeftProcess[];
  totalMs: number;
}

/** What an evacuation's moves say started them (the history finds them by it for Bring Back All). */
export function evacuationTrigger(host: string): string {
  return `evacuation of ${host}`;
}

/** A login's own daemons, started from it but never the user's work. */
const NOT_WORK = new Set(['sshd', 'sshd-session', 'systemd', '(sd-pam)', 'dbus-daemon', 'tmux: server', 'ssh-agent', 'gpg-agent']);

/** The candidates for the user's own process trees: orphans reparented to init (started with
 * `setsid … &`, nohup, a daemonizing dev server) owned by `uid`, less a login's daemons and the
 * engine's helper. Which of them were started from a login, not by init as system services, the
 * host says (Engine.fromLogin). */
export function workTreeCandidates(processes: readonly ProcessInfo[], uid: number): ProcessInfo[] {
  return processes.filter((p) => p.pid !== 1 && p.ppid === 1 && p.uid === uid && !NOT_WORK.has(p.name) && !p.command.includes('procmig-helper') && !/helper-[0-9a-f]{12}\.sh/.test(p.command));
}

/** The roots of the user's own work on `host`: the candidates the host says a login started. */
export async function workTrees(engine: Pick<Engine, 'fromLogin'>, host: string, processes: readonly ProcessInfo[], uid: number): Promise<ProcessInfo[]> {
  const candidates = workTreeCandidates(processes, uid);
  const started = new Set(await engine.fromLogin(host, candidates.map((p) => p.pid)));
  return candidates.filter((p) => started.has(p.pid));
}

export async function evacuate(
  engine: Pick<Engine, 'listProcesses' | 'checkHost' | 'checkFeasible' | 'migrateMany' | 'fromLogin'>,
  states: HostStates,
  request: EvacuationRequest,
  options: MigrateOptions = {},
): Promise<EvacuationResult> {
  const started = performance.now();
  const processes = await engine.listProcesses(request.from);
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const uid = (await engine.checkHost(request.from)).capabilities?.uid ?? 0;
  const left: LeftProcess[] = [];
  const roots = request.pids
    ? request.pids.flatMap((pid) => {
        const p = byPid.get(pid);
        if (!p) left.push({ pid, name: `PID ${pid}`, reason: `Process ${pid} does not run on ${request.from}.` });
        return p ? [p] : [];
      })
    : await workTrees(engine, request.from, processes, uid);
  options.onProgress?.({ phase: 'preflight', message: `placing ${roots.length} process tree${roots.length === 1 ? '' : 's'} off ${request.from}` });

  // Placement first, for all of them: nothing is frozen until each has a destination.
  const destinations = new Map<string, number[]>();
  for (const [p, to] of await destinationsOf(roots)) {
    if (typeof to === 'string') destinations.set(to, [...(destinations.get(to) ?? []), p.pid]);
    else left.push({ pid: p.pid, name: p.name, reason: to.reason });
  }
  const batches: BatchResult[] = await Promise.all(
    [...destinations].map(([to, pids]) => engine.migrateMany({ pids, from: request.from, to, strategy: request.strategy }, options)),
  );
  const results = batches.flatMap((b) => b.processes.map((r) => ({ ...r, trigger: evacuationTrigger(request.from) })));
  return {
    ok: results.every((r) => r.ok),
    from: request.from,
    results,
    left: left.sort((a, b) => a.pid - b.pid),
    totalMs: Math.round(performance.now() - started),
  };

  /** Each tree's destination, or why it has none. With `auto` every preflight runs at once, then
   * the trees are ranked one after the other, largest first, each against the hosts as they will
   * be with the trees placed before it: two that each fit a host do not both go there when it
   * holds only one. */
  async function destinationsOf(trees: readonly ProcessInfo[]): Promise<[ProcessInfo, string | { reason: string }][]> {
    const { from, to, among } = request;
    if (to !== 'auto') {
      return Promise.all(
        trees.map(async (p): Promise<[ProcessInfo, string | { reason: string }]> => {
          const f = await engine.checkFeasible({ pid: p.pid, from, to }, { signal: options.signal });
          return [p, f.feasible ? to : { reason: f.problems.join(' ') }];
        }),
      );
    }
    const assessed = await Promise.all(trees.map((p) => assess(engine, states, { pid: p.pid, from, among }, options.signal)));
    const reserved = new Map<string, Assessment['process'][]>();
    const order = trees.map((_, i) => i).sort((a, b) => assessed[b].process.rssKiB - assessed[a].process.rssKiB);
    return order.map((i) => {
      const { process, inputs } = assessed[i];
      const placement = rankHosts(process, inputs.map((input) => withReserved(input, reserved.get(input.state.host) ?? [])));
      if (placement.host) reserved.set(placement.host, [...(reserved.get(placement.host) ?? []), process]);
      return [trees[i], placement.host ?? { reason: placement.reason }];
    });
  }
}
