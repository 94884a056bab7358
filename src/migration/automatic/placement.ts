// Where a process fits best: among the candidates where the move passes the full preflight
// (CRIU, architecture, CPU features, files, memory), the one with the most headroom for this
// process, its recent CPU use against the host's idle cores and its RSS against the host's
// available memory; ties go to the faster link. Every candidate gets one sentence why.
import { formatBytes } from '../../common/format';
import type { HostState, Placement, PlacementCandidate } from '../api';
import { sentenceFor } from '../errors';

/** What placement knows of the process to move. */
export interface ProcessFacts {
  pid: number;
  from: string;
  /** Its tree's recent CPU use, in cores. */
  cpuCores: number;
  /** Its tree's resident memory. */
  rssBytes: number;
}

/** A candidate as the ranking sees it. */
export interface CandidateFacts {
  state: HostState;
  /** Why the move cannot go there (the preflight's sentences); empty: feasible. */
  problems: string[];
  /** MiB/s measured by a real transfer from the source to it, if any. */
  mibPerSec?: number;
  /** The round trip from this machine, if measured. */
  rttMs?: number;
}

/** Less than this much use counts as this much: an idle process still needs some room. */
const MIN_CORES = 0.1;
const MIN_BYTES = 16 << 20;
/** Scores within a step of 10% count as a tie, which the link decides. */
const TIE_STEP = Math.log(1.1);

interface Scored {
  facts: CandidateFacts;
  idleCores: number;
  cpuRatio: number;
  memRatio: number;
  score: number;
  bucket: number;
}

/** Idle cores: the usable cores the host's load leaves. */
export function idleCores(state: HostState): number {
  return Math.max(0, state.cpus * (1 - state.load1));
}

/** Ranks the candidates (pure): feasible ones by headroom, best first, ties by link; infeasible
 * ones last, each with its reason. */
export function rankCandidates(process: ProcessFacts, candidates: readonly CandidateFacts[]): Placement {
  const needCores = Math.max(process.cpuCores, MIN_CORES);
  const needBytes = Math.max(process.rssBytes, MIN_BYTES);
  const feasible: Scored[] = candidates
    .filter((c) => !c.problems.length)
    .map((facts) => {
      const idle = idleCores(facts.state);
      const cpuRatio = idle / needCores;
      const memRatio = facts.state.memAvailableBytes / needBytes;
      // The tighter resource decides: headroom is how many times over the host could take it.
      const score = Math.min(cpuRatio, memRatio);
      return { facts, idleCores: idle, cpuRatio, memRatio, score, bucket: score > 0 ? Math.floor(Math.log(score) / TIE_STEP) : -Infinity };
    })
    .sort((a, b) => b.bucket - a.bucket || linkOrder(a.facts, b.facts) || b.score - a.score || a.facts.state.host.localeCompare(b.facts.state.host));
  const infeasible = candidates.filter((c) => c.problems.length).sort((a, b) => a.state.host.localeCompare(b.state.host));
  const best = feasible[0];
  const ranked: PlacementCandidate[] = [
    ...feasible.map((s, i) => ({
      host: s.facts.state.host,
      feasible: true,
      score: Math.round(s.score * 100) / 100,
      reason: i === 0 ? chosenReason(process, s, feasible[1]) : passedOverReason(process, s, best),
    })),
    ...infeasible.map((c) => ({ host: c.state.host, feasible: false, reason: `${c.state.host} was passed over: ${c.problems.join(' ')}` })),
  ];
  if (!best) {
    return {
      reason: candidates.length
        ? `No candidate can take process ${process.pid} from ${process.from}: ${infeasible.map((c) => c.state.host).join(', ')} ${infeasible.length === 1 ? 'failed' : 'each failed'} the preflight (see ${infeasible.length === 1 ? 'its' : 'each one\'s'} reason).`
        : `There is no other host to move process ${process.pid} from ${process.from} to; add hosts to your ssh config or the processMigrator.hosts setting.`,
      candidates: ranked,
    };
  }
  return { to: best.facts.state.host, reason: ranked[0].reason, candidates: ranked };
}

/** Faster link first: measured MiB/s where both have it, else the shorter round trip, else the
 * one measured at all. */
function linkOrder(a: CandidateFacts, b: CandidateFacts): number {
  if (a.mibPerSec !== undefined && b.mibPerSec !== undefined && a.mibPerSec !== b.mibPerSec) return b.mibPerSec - a.mibPerSec;
  if (a.rttMs !== undefined && b.rttMs !== undefined && a.rttMs !== b.rttMs) return a.rttMs - b.rttMs;
  const measured = (c: CandidateFacts) => (c.mibPerSec !== undefined ? 2 : c.rttMs !== undefined ? 1 : 0);
  return measured(b) - measured(a);
}

function headroom(process: ProcessFacts, s: Scored): string {
  return `${s.idleCores.toFixed(1)} idle of ${s.facts.state.cpus} usable cores for its ${process.cpuCores.toFixed(2)}, and ${formatBytes(s.facts.state.memAvailableBytes)} of memory available for its ${formatBytes(process.rssBytes)}`;
}

function linkWords(c: CandidateFacts): string {
  if (c.mibPerSec !== undefined) return `${c.mibPerSec} MiB/s`;
  if (c.rttMs !== undefined) return `a ${Math.round(c.rttMs)} ms round trip`;
  return 'an unmeasured link';
}

function chosenReason(process: ProcessFacts, s: Scored, next?: Scored): string {
  const host = s.facts.state.host;
  const stale = s.facts.state.stale ? ' (measured a while ago)' : '';
  const tie = next && next.bucket === s.bucket ? `; as much headroom as ${next.facts.state.host}, and the faster link (${linkWords(s.facts)} against ${linkWords(next.facts)})` : '';
  const why = next ? `it has the most headroom for process ${process.pid}${stale}` : `the only candidate where the move passes the preflight, with headroom for process ${process.pid}${stale}`;
  return `${host} was chosen: ${why}: ${headroom(process, s)}${tie}.`;
}

function passedOverReason(process: ProcessFacts, s: Scored, best: Scored): string {
  const host = s.facts.state.host;
  const other = best.facts.state.host;
  if (s.bucket === best.bucket) return `${host} was passed over: as much headroom as ${other}, but a slower link (${linkWords(s.facts)} against ${linkWords(best.facts)}).`;
  const tighter = s.cpuRatio <= s.memRatio ? `${s.idleCores.toFixed(1)} idle cores against ${other}'s ${best.idleCores.toFixed(1)}` : `${formatBytes(s.facts.state.memAvailableBytes)} of memory available against ${other}'s ${formatBytes(best.facts.state.memAvailableBytes)}`;
  return `${host} was passed over: less headroom for process ${process.pid} (${tighter}).`;
}

/** What the feasibility step needs from the engine. */
export interface PlacementDeps {
  /** The process's facts on its host. */
  process(): Promise<ProcessFacts>;
  states(hosts: readonly string[]): Promise<HostState[]>;
  /** Runs the full preflight of the move to `host`; rejects (a PreflightError) when it fails. */
  preflight(host: string): Promise<void>;
  /** MiB/s measured from `from` to `to` by a real migration. */
  mibPerSec(from: string, to: string): number | undefined;
  /** Preflights run at once at most. */
  maxInFlight?: number;
}

/** Places a process: every candidate's state and preflight (bounded), then the ranking. */
export async function placeProcess(candidates: readonly string[], deps: PlacementDeps): Promise<Placement> {
  const [process, states] = await Promise.all([deps.process(), deps.states(candidates)]);
  const problems = await mapBounded(candidates, deps.maxInFlight ?? 4, async (host) => {
    try {
      await deps.preflight(host);
      return [];
    } catch (err) {
      const problems = (err as { problems?: unknown }).problems;
      return Array.isArray(problems) && problems.length ? (problems as string[]) : [sentenceFor(err)];
    }
  });
  return rankCandidates(
    process,
    states.map((state, i) => ({ state, problems: problems[i], mibPerSec: deps.mibPerSec(process.from, state.host), rttMs: state.link?.rttMs })),
  );
}

/** `f` over `items`, at most `limit` at a time, results in order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A process's facts from its host's process list: its tree's CPU (ps's %CPU) and RSS. */
export function processFacts(pid: number, from: string, processes: readonly { pid: number; ppid: number; cpu: number; rssKiB: number }[]): ProcessFacts {
  const children = new Map<number, number[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  let cpu = 0;
  let rss = 0;
  const todo = byPid.has(pid) ? [pid] : [];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    const info = byPid.get(p)!;
    cpu += info.cpu;
    rss += info.rssKiB;
    todo.push(...(children.get(p) ?? []));
  }
  return { pid, from, cpuCores: cpu / 100, rssBytes: rss * 1024 };
}
