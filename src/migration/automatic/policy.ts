// Policies: rules that move marked processes off a host that is busy or short of memory, and a
// pure evaluator over measured host states (no I/O, no clock of its own: the caller passes
// `now`), so the daemon (watch.ts), the extension and the unit tests share one logic.
//
// Safeguards:
// - hysteresis: a rule trips when a condition has held for `forSeconds`, and only clears once
//   every condition is back past its lower (clear) threshold; samples in between change nothing;
// - once it fired, a rule fires again only after holding another `forSeconds`;
// - a process is moved at most once per `minSecondsBetweenMoves`;
// - stale samples are ignored (a host that does not answer proves nothing about its load);
// - only marked processes are ever chosen.
import { AUTO_HOST, type HostState, type Policy, type PolicyMove, type PolicyRule } from '../api';




/** A marked process as it runs now, with what it uses. */
export interface MarkedProcess {
  host: string;
  pid: number;
  name: string;
  /** Percent of one core. */
  cpu: number;
  rssKiB: number;
}

/** What the evaluator remembers between samples. */
export interface PolicyState {
  rules: RuleState[];
  /** `host:pid` → when it was last moved (ms). The daemon records a moved process under its
   * new host and PID as well. */
  lastMoved: Record<string, number>;
}

interface RuleState {
  /** Tripped since (ms): a condition passed its threshold then and has not cleared. */
  since?: number;
  /** What tripped it, for the trigger. */
  why?: 'load' | 'memory';
  lastFired?: number;
}


export function initialPolicyState(policy: Policy): PolicyState {
  return { rules: policy.rules.map(() => ({})), lastMoved: {} };
}

export const processKey = (host: string, pid: number) => `${host}:${pid}`;

/** Feeds one round of samples taken at `now` (ms); returns the new state and the moves due. */
export function evaluatePolicy(
  policy: Policy,
  state: PolicyState,
  now: number,
  samples: readonly HostState[],
  marked: readonly MarkedProcess[],
): { state: PolicyState; moves: PolicyMove[] } {
  const next: PolicyState = { rules: policy.rules.map((_, i) => ({ ...state.rules[i] })), lastMoved: { ...state.lastMoved } };
  const minGapMs = (policy.minSecondsBetweenMoves ?? 300) * 1000;
  const moves: PolicyMove[] = [];
  policy.rules.forEach((rule, i) => {
    const sample = samples.find((s) => s.host === rule.host);
    if (!sample || sample.stale) return;
    const rs = next.rules[i];
    const level = conditionOf(rule, sample);
    if (rs.since === undefined && level.tripped) {
      rs.since = now;
      rs.why = level.tripped;
    } else if (rs.since !== undefined && level.cleared) {
      rs.since = rs.why = rs.lastFired = undefined;
    }
    if (rs.since === undefined || !rs.why) return;
    const holdMs = (rule.forSeconds ?? 0) * 1000;
    if (now - rs.since < holdMs || (rs.lastFired !== undefined && now - rs.lastFired < holdMs)) return;
    if (rs.lastFired !== undefined && holdMs === 0) return; // without a hold, once per tripping
    const eligible = marked.filter((p) => p.host === rule.host && !moves.some((m) => m.host === p.host && m.pid === p.pid)).filter((p) => {
      const last = next.lastMoved[processKey(p.host, p.pid)];
      return last === undefined || now - last >= minGapMs;
    });
    const to = rule.to ?? AUTO_HOST;
    if (!eligible.length || to === rule.host) return;
    const why = rs.why;
    const chosen = (rule.move ?? 'largest') === 'all' ? eligible : [eligible.reduce((a, b) => (usage(b, why) > usage(a, why) ? b : a))];
    const name = rule.name ?? `rule ${i + 1}`;
    const trigger = triggerSentence(name, rule, sample, why);
    rs.lastFired = now;
    for (const p of chosen) {
      next.lastMoved[processKey(p.host, p.pid)] = now;
      moves.push({ rule: name, host: p.host, pid: p.pid, name: p.name, to, ...(rule.candidates ? { candidates: rule.candidates } : {}), trigger });
    }
  });
  return { state: next, moves };
}

function usage(p: MarkedProcess, why: 'load' | 'memory'): number {
  return why === 'load' ? p.cpu : p.rssKiB;
}

const MiB = 1024 * 1024;

/** Where a sample stands against the rule's two thresholds per condition. */
function conditionOf(rule: PolicyRule, s: HostState): { tripped?: 'load' | 'memory'; cleared: boolean } {
  const load = rule.loadPerCoreAbove;
  const mem = rule.memAvailableBelowMiB;
  const loadHigh = load !== undefined && s.load1 > load;
  const memLow = mem !== undefined && s.memAvailableBytes < mem * MiB;
  const loadClear = load === undefined || s.load1 < (rule.loadClearBelow ?? load * 0.8);
  const memClear = mem === undefined || s.memAvailableBytes > (rule.memClearAboveMiB ?? mem * 1.25) * MiB;
  return { tripped: loadHigh ? 'load' : memLow ? 'memory' : undefined, cleared: loadClear && memClear };
}

function triggerSentence(name: string, rule: PolicyRule, s: HostState, why: 'load' | 'memory'): string {
  const held = rule.forSeconds ? ` for ${rule.forSeconds} s` : '';
  return why === 'load'
    ? `Policy '${name}': ${rule.host}'s load per core stayed above ${rule.loadPerCoreAbove}${held} (${round(s.load1)} now).`
    : `Policy '${name}': ${rule.host}'s available memory stayed below ${rule.memAvailableBelowMiB} MiB${held} (${Math.round(s.memAvailableBytes / MiB)} MiB now).`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The processes on `host` a policy marks, from its process list: PID entries as they are,
 * pattern entries matched against the command line; a process inside another marked one's
 * tree is left out (it moves with it). */
export function markedOn<P extends { pid: number; ppid: number; command: string }>(policy: Policy, host: string, processes: readonly P[], self?: number): P[] {
  const patterns = policy.marked.flatMap((m) => ('command' in m && (m.host === undefined || m.host === host) ? [new RegExp(m.command)] : []));
  const pids = new Set(policy.marked.flatMap((m) => ('pid' in m && m.host === host ? [m.pid] : [])));
  const hits = processes.filter((p) => p.pid !== self && (pids.has(p.pid) || patterns.some((re) => re.test(p.command))));
  const hit = new Set(hits.map((p) => p.pid));
  const parent = new Map(processes.map((p) => [p.pid, p.ppid]));
  return hits.filter((p) => {
    for (let a = parent.get(p.pid); a !== undefined && a > 1; a = parent.get(a)) if (hit.has(a)) return false;
    return true;
  });
}

/** Checks a policy read from JSON; throws one sentence naming what is wrong. */
export function parsePolicy(value: unknown, source = 'the policy'): Policy {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (!value || typeof value !== 'object') fail('it is not a JSON object.');
  const p = value as Record<string, unknown>;
  if (!Array.isArray(p.rules) || !p.rules.length) fail('"rules" must be a non-empty array.');
  if (!Array.isArray(p.marked)) fail('"marked" must be an array of {"host", "pid"} or {"command"} entries.');
  const num = (v: unknown, what: string) => {
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0))) fail(`${what} must be a number ≥ 0.`);
  };
  (p.rules as unknown[]).forEach((r, i) => {
    const rule = r as PolicyRule;
    if (!rule || typeof rule.host !== 'string') fail(`rule ${i + 1} has no "host".`);
    if (rule.loadPerCoreAbove === undefined && rule.memAvailableBelowMiB === undefined) fail(`rule ${i + 1} has no condition: give "loadPerCoreAbove" or "memAvailableBelowMiB".`);
    for (const k of ['loadPerCoreAbove', 'loadClearBelow', 'memAvailableBelowMiB', 'memClearAboveMiB', 'forSeconds'] as const) num(rule[k], `rule ${i + 1}'s "${k}"`);
    if (rule.move !== undefined && rule.move !== 'largest' && rule.move !== 'all') fail(`rule ${i + 1}'s "move" must be "largest" or "all".`);
    if (rule.loadClearBelow !== undefined && rule.loadPerCoreAbove !== undefined && rule.loadClearBelow > rule.loadPerCoreAbove) fail(`rule ${i + 1}'s "loadClearBelow" is above its "loadPerCoreAbove".`);
  });
  (p.marked as unknown[]).forEach((m, i) => {
    const mark = m as Record<string, unknown>;
    if (typeof mark?.pid === 'number' && typeof mark.host === 'string') return;
    if (typeof mark?.command !== 'string') fail(`marked entry ${i + 1} needs "host" and "pid", or "command".`);
    try {
      new RegExp(mark.command as string);
    } catch {
      fail(`marked entry ${i + 1}'s "command" is not a regular expression.`);
    }
  });
  num(p.minSecondsBetweenMoves, '"minSecondsBetweenMoves"');
  num(p.pollSeconds, '"pollSeconds"');
  return p as unknown as Policy;
}
