// Where `--to auto` (Migrate to Best Host) sends a process: among the hosts where the full
// preflight passes, the one with the most headroom for this process, ties to the faster link.
import type { Engine, Feasibility, HostState, MigrateOptions, MigrationResult, Placement, PlacementCandidate, Strategy } from '../migration/api';
import { idleCores } from '../migration/hostMeasure';
import { notStartedResult } from '../migration/notStarted';
import type { HostStates } from './hostStates';

/** Headrooms within this share of the best count as a tie, decided by the link. */
const TIE = 0.1;
/** A process using less than this many cores counts as this much: an idle process still needs a
 * little CPU, and dividing by ~0 would make CPU never decide. */
const MIN_CPU_CORES = 0.05;

export interface RankInput {
  state: HostState;
  feasibility: Feasibility;
  /** Link speed from the source, when known; else the RTT decides a tie: host to host first
   * (what a direct transfer crosses), then from this machine. */
  mibps?: number;
  /** The round trip between the source and this host, in ms, when measured. */
  linkRttMs?: number;
}

/** Which of two tied candidates has the faster link from the source: negative when `a` does. */
export function fasterLink(a: RankInput, b: RankInput): number {
  return (b.mibps ?? 0) - (a.mibps ?? 0) || (a.linkRttMs ?? Infinity) - (b.linkRttMs ?? Infinity) || (a.state.rttMs ?? Infinity) - (b.state.rttMs ?? Infinity);
}

/** How many times over the host could take this process: min(idle cores / its CPU use,
 * available memory / its RSS). */
export function headroom(state: HostState, process: { rssKiB: number; cpuCores: number }): number {
  const cpu = idleCores(state) / Math.max(MIN_CPU_CORES, process.cpuCores);
  const mem = state.memAvailableKiB / Math.max(1, process.rssKiB);
  return Math.min(cpu, mem);
}

/** Ranks the candidates for `process`; pure, so 200 synthetic hosts rank in a unit test. */
export function rankHosts(process: { rssKiB: number; cpuCores: number }, inputs: readonly RankInput[]): Placement {
  const passed: PlacementCandidate[] = [];
  const scored: { input: RankInput; score: number }[] = [];
  for (const input of inputs) {
    const { host } = input.state;
    if (!input.feasibility.feasible) {
      passed.push({ host, feasible: false, reason: input.feasibility.problems.join(' ') || `${host} cannot take it.` });
    } else if (input.state.stale && !input.state.cpus) {
      passed.push({ host, feasible: false, reason: `${host} could not be measured (${input.state.stale}).` });
    } else if (input.state.memAvailableKiB < process.rssKiB) {
      passed.push({ host, feasible: false, reason: `${host} has ${mib(input.state.memAvailableKiB)} available, less than the process's ${mib(process.rssKiB)}.` });
    } else {
      scored.push({ input, score: headroom(input.state, process) });
    }
  }
  if (!scored.length) {
    // The same sentence from several hosts (the process itself cannot move) is said once.
    return { reason: inputs.length ? 'No host can take the process: ' + [...new Set(passed.map((p) => p.reason))].join(' ') : 'No other host is configured.', candidates: passed };
  }
  const best = Math.max(...scored.map((s) => s.score));
  const tied = scored.filter((s) => s.score >= best * (1 - TIE));
  tied.sort((a, b) => fasterLink(a.input, b.input) || b.score - a.score);
  const chosen = tied[0];
  const host = chosen.input.state.host;
  const tie = tied.length > 1;
  const rtt = (input: RankInput) => (input.linkRttMs !== undefined ? { linkRttMs: input.linkRttMs } : {});
  const candidates: PlacementCandidate[] = [
    { host, feasible: true, score: chosen.score, reason: `${host} has the most headroom for it (${describe(chosen.input.state, chosen.score)})${tie ? `; a tie, decided by the faster link${linkText(chosen.input)}` : ''}.`, ...rtt(chosen.input) },
    ...scored
      .filter((s) => s !== chosen)
      .sort((a, b) => b.score - a.score)
      .map((s) => ({
        host: s.input.state.host,
        feasible: true,
        score: s.score,
        reason: tied.includes(s)
          ? `${s.input.state.host} ties (${describe(s.input.state, s.score)}) but its link is slower${linkText(s.input)}.`
          : `${s.input.state.host} has less headroom (${describe(s.input.state, s.score)}).`,
        ...rtt(s.input),
      })),
    ...passed,
  ];
  return { host, reason: candidates[0].reason, candidates };
}

export interface PlaceRequest {
  pid: number;
  from: string;
  /** The hosts to choose among (the source is left out). */
  among: readonly string[];
}

/** What ranking a process needs: its size, and each candidate's state and preflight. */
export interface Assessment {
  process: { rssKiB: number; cpuCores: number };
  inputs: RankInput[];
}

/** Runs the full preflight against every candidate and their states in parallel, then ranks. */
export async function placeProcess(engine: Pick<Engine, 'checkFeasible'>, states: HostStates, request: PlaceRequest, signal?: AbortSignal): Promise<Placement> {
  const { process, inputs } = await assess(engine, states, request, signal);
  return rankHosts(process, inputs);
}

/** A candidate as it will be once `reserved` (processes placed there before this one) runs on it
 * too: their memory and CPU use taken from its headroom. */
export function withReserved(input: RankInput, reserved: readonly { rssKiB: number; cpuCores: number }[]): RankInput {
  if (!reserved.length) return input;
  const rssKiB = reserved.reduce((sum, r) => sum + r.rssKiB, 0);
  const cpuCores = reserved.reduce((sum, r) => sum + r.cpuCores, 0);
  const { state } = input;
  return { ...input, state: { ...state, memAvailableKiB: state.memAvailableKiB - rssKiB, busyCores: state.cpus - idleCores(state) + cpuCores } };
}

/** The full preflight against every candidate and their states, in parallel; nothing is frozen. */
export async function assess(engine: Pick<Engine, 'checkFeasible'>, states: HostStates, request: PlaceRequest, signal?: AbortSignal): Promise<Assessment> {
  const hosts = [...new Set(request.among)].filter((h) => h !== request.from);
  const [feasibilities, first, rtts] = await Promise.all([
    Promise.all(hosts.map((to) => engine.checkFeasible({ pid: request.pid, from: request.from, to }, { signal }))),
    states.get(hosts),
    // Cheap (a TCP connect per pair) and remembered: it costs nothing beside the preflight.
    states.linkRtts(request.from, hosts),
  ]);
  // A host's CPU use is a rate, which its first reading cannot give: the preflight took long
  // enough for a second one to.
  const measured = await Promise.all(first.map((s, i) => (s.busyCores === undefined && s.cpuTime ? states.probe(hosts[i]) : s)));
  const size = feasibilities.find((f) => f.rssKiB !== undefined);
  return {
    process: { rssKiB: size?.rssKiB ?? 0, cpuCores: size?.cpuCores ?? 0 },
    inputs: hosts.map((h, i) => ({
      state: measured[i],
      feasibility: feasibilities[i],
      mibps: states.linkMiBps(request.from, h),
      ...(rtts[i] !== undefined ? { linkRttMs: rtts[i] } : {}),
    })),
  };
}

/** Places the process, then migrates it there; the result carries the placement. With no
 * feasible host nothing is touched and the result says why. */
export async function migrateToBest(
  engine: Pick<Engine, 'checkFeasible' | 'migrate'>,
  states: HostStates,
  request: PlaceRequest & { strategy?: Strategy },
  options: MigrateOptions = {},
): Promise<MigrationResult> {
  options.onProgress?.({ phase: 'preflight', message: `choosing among ${request.among.filter((h) => h !== request.from).join(', ')}` });
  const placement = await placeProcess(engine, states, request, options.signal);
  if (!placement.host) {
    const error = `${placement.reason} Nothing was frozen; the process runs on ${request.from}.`;
    return notStartedResult({ pid: request.pid, from: request.from, to: 'auto' }, error, { strategyReason: '', placement, rolledBack: true });
  }
  const result = await engine.migrate({ pid: request.pid, from: request.from, to: placement.host, strategy: request.strategy }, options);
  if (result.ok) states.learnLink(request.from, placement.host, result.bytes, result.phases.transfer ?? result.freezeMs);
  return { ...result, placement };
}

function mib(kib: number): string {
  return `${Math.round(kib / 1024)} MiB`;
}

function describe(state: HostState, score: number): string {
  return `${idleCores(state).toFixed(1)} of ${state.cpus} cores idle, ${mib(state.memAvailableKiB)} available: room for ${score >= 100 ? Math.round(score) : score.toFixed(1)}×`;
}

function linkText(input: RankInput): string {
  if (input.mibps !== undefined) return `, ${Math.round(input.mibps)} MiB/s`;
  if (input.linkRttMs !== undefined) return `, RTT ${formatMs(input.linkRttMs)} from the source`;
  return input.state.rttMs !== undefined ? `, RTT ${input.state.rttMs} ms from this machine` : '';
}

/** Sub-millisecond round trips (hosts on one LAN) keep two significant digits. */
export function formatMs(ms: number): string {
  return `${ms >= 10 ? Math.round(ms) : Number(ms.toPrecision(2))} ms`;
}

/** `lab-b 0.03 ms, 380 MiB/s · lab-c 0.05 ms`: host to host, as placement weighs them. */
export function linksText(m: Pick<HostState, 'links'>): string {
  return (m.links ?? [])
    .map((l) => {
      const measures = [l.rttMs !== undefined ? formatMs(l.rttMs) : '', l.mibps !== undefined ? `${l.mibps} MiB/s` : ''].filter(Boolean);
      return `${l.host} ${measures.join(', ')}`;
    })
    .join(' · ');
}
