// Policies: rules that move marked processes off a host that stays busy (CPU per core) or short
// of memory. The file `procmig watch --policy FILE` reads holds the same object as the setting
// `processMigrator.policies`. Everything here is pure: readings and process lists in, decisions
// out; the loop that measures and moves is watch.ts.
import type { HostState, ProcessInfo } from '../migration/api';

export type Condition = { cpuPerCoreAbove: number } | { memAvailableBelowMiB: number };

export interface PolicyRule {
  name: string;
  /** The hosts this rule watches (default: every host of the ssh config). */
  hosts?: string[];
  when: Condition;
  /** The condition must hold this long before the rule fires. */
  forSeconds: number;
  /** Hysteresis: once fired, a CPU rule re-arms only below this (default 3/4 of its threshold)… */
  clearBelow?: number;
  /** …and a memory rule only above this many MiB (default 5/4 of its threshold). */
  clearAbove?: number;
  /** Every marked process on the host, or only the marked tree using the most CPU (memory, for a
   * memory rule). */
  move: 'marked' | 'largest-marked';
  to: 'auto';
  /** The hosts to move to (default: every host of the ssh config). */
  among?: string[];
}

/** A process the user allows to be moved automatically: by PID, or every process tree on the
 * host whose command line matches the regular expression. */
export type Mark = { host: string; pid: number } | { host: string; command: string };

export interface Policies {
  rules: PolicyRule[];
  /** A process moved (or tried) is not moved again for this long. */
  minSecondsBetweenMoves: number;
  marked: Mark[];
}

export const DEFAULT_MIN_SECONDS_BETWEEN_MOVES = 300;
const CLEAR_CPU = 0.75;
const CLEAR_MEM = 1.25;

/** Checks a parsed policy file (or the setting): the policies, or one sentence per bad field. */
export function parsePolicies(value: unknown): { policies: Policies; errors: [] } | { policies?: undefined; errors: string[] } {
  const errors: string[] = [];
  const bad = (field: string, what: string) => errors.push(`${field} ${what}.`);
  if (!isObject(value)) return { errors: ['The policies must be a JSON object with "rules" (and optionally "marked" and "minSecondsBetweenMoves").'] };
  const known = ['rules', 'marked', 'minSecondsBetweenMoves'];
  for (const k of Object.keys(value)) if (!known.includes(k)) bad(`"${k}"`, `is not a policy field (expected ${known.join(', ')})`);
  const minSeconds = value.minSecondsBetweenMoves ?? DEFAULT_MIN_SECONDS_BETWEEN_MOVES;
  if (!isNumber(minSeconds) || minSeconds < 0) bad('minSecondsBetweenMoves', 'must be a number of seconds, 0 or more');
  const rules = Array.isArray(value.rules) ? value.rules : [];
  if (!Array.isArray(value.rules) || !rules.length) bad('rules', 'must be a list of at least one rule');
  const names = new Set<string>();
  rules.forEach((rule: unknown, i: number) => {
    const at = `rules[${i}]`;
    if (!isObject(rule)) return bad(at, 'must be an object');
    const known = ['name', 'hosts', 'when', 'forSeconds', 'clearBelow', 'clearAbove', 'move', 'to', 'among'];
    for (const k of Object.keys(rule)) if (!known.includes(k)) bad(`${at}.${k}`, `is not a rule field (expected ${known.join(', ')})`);
    if (typeof rule.name !== 'string' || !rule.name) bad(`${at}.name`, 'must be a non-empty string');
    else if (names.has(rule.name)) bad(`${at}.name`, `repeats "${rule.name}": each rule needs its own name`);
    else names.add(rule.name);
    for (const list of ['hosts', 'among'] as const) {
      if (rule[list] !== undefined && !(Array.isArray(rule[list]) && rule[list].length && rule[list].every((h: unknown) => typeof h === 'string' && h))) bad(`${at}.${list}`, 'must be a non-empty list of host names');
    }
    if (!isNumber(rule.forSeconds) || rule.forSeconds < 0) bad(`${at}.forSeconds`, 'must be a number of seconds, 0 or more');
    if (rule.move !== 'marked' && rule.move !== 'largest-marked') bad(`${at}.move`, 'must be "marked" or "largest-marked"');
    if (rule.to !== 'auto') bad(`${at}.to`, 'must be "auto" (the best host among "among")');
    const when = rule.when;
    if (isObject(when) && Object.keys(when).length === 1 && isNumber(when.cpuPerCoreAbove)) {
      if (when.cpuPerCoreAbove <= 0) bad(`${at}.when.cpuPerCoreAbove`, 'must be above 0');
      if (rule.clearAbove !== undefined) bad(`${at}.clearAbove`, 'is for a memory rule; a CPU rule re-arms below clearBelow');
      if (rule.clearBelow !== undefined && (!isNumber(rule.clearBelow) || rule.clearBelow > when.cpuPerCoreAbove)) bad(`${at}.clearBelow`, `must be a number no higher than cpuPerCoreAbove (${when.cpuPerCoreAbove})`);
    } else if (isObject(when) && Object.keys(when).length === 1 && isNumber(when.memAvailableBelowMiB)) {
      if (when.memAvailableBelowMiB <= 0) bad(`${at}.when.memAvailableBelowMiB`, 'must be above 0');
      if (rule.clearBelow !== undefined) bad(`${at}.clearBelow`, 'is for a CPU rule; a memory rule re-arms above clearAbove');
      if (rule.clearAbove !== undefined && (!isNumber(rule.clearAbove) || rule.clearAbove < when.memAvailableBelowMiB)) bad(`${at}.clearAbove`, `must be a number no lower than memAvailableBelowMiB (${when.memAvailableBelowMiB})`);
    } else bad(`${at}.when`, 'must be { "cpuPerCoreAbove": X } or { "memAvailableBelowMiB": Y }');
  });
  const marked = value.marked ?? [];
  if (!Array.isArray(marked)) bad('marked', 'must be a list of { "host", "pid" } or { "host", "command" }');
  else {
    marked.forEach((m: unknown, i: number) => {
      const at = `marked[${i}]`;
      if (!isObject(m) || typeof m.host !== 'string' || !m.host) return bad(at, 'must name its "host" and a "pid" or a "command" regular expression');
      if ('pid' in m === 'command' in m) bad(at, 'must have either "pid" or "command"');
      else if ('pid' in m && !(Number.isInteger(m.pid) && (m.pid as number) > 1)) bad(`${at}.pid`, 'must be a process ID');
      else if ('command' in m) {
        if (typeof m.command !== 'string' || !m.command) bad(`${at}.command`, 'must be a regular expression matched against the command line');
        else {
          try {
            new RegExp(m.command);
          } catch (err) {
            bad(`${at}.command`, `is not a regular expression (${(err as Error).message})`);
          }
        }
      }
    });
  }
  if (errors.length) return { errors };
  return { policies: { rules: rules as PolicyRule[], minSecondsBetweenMoves: minSeconds as number, marked: marked as Mark[] }, errors: [] };
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** What a rule reads off a host's state; undefined when the state says nothing (stale, or the
 * first reading of a cgroup whose CPU use needs two). */
export function measure(rule: PolicyRule, state: HostState): { value: number; text: (forSeconds: number) => string } | undefined {
  if (state.stale) return undefined;
  const { host } = state;
  if ('memAvailableBelowMiB' in rule.when) {
    const mib = state.memAvailableKiB / 1024;
    const below = rule.when.memAvailableBelowMiB;
    return { value: mib, text: (s) => `${host} had ${Math.round(mib)} MiB available for ${s} s (below ${below} MiB)` };
  }
  const above = rule.when.cpuPerCoreAbove;
  // The cgroup's CPU use, where there is one: hosts that share a kernel share their load average.
  if (state.busyCores !== undefined && state.cpus > 0) {
    const busy = state.busyCores;
    return { value: busy / state.cpus, text: (s) => `${host} used ${busy.toFixed(1)} of ${state.cpus} cores for ${s} s (above ${above} per core)` };
  }
  if (state.cpuTime) return undefined;
  const load = state.load1PerCore;
  return { value: load, text: (s) => `${host}'s load was ${load.toFixed(2)} per core for ${s} s (above ${above} per core)` };
}

/** A rule's state on one host: when its condition began to hold, and whether it has fired
 * (then it fires again only after re-arming past the clear threshold). */
export interface Arm {
  since?: number;
  fired: boolean;
}

export interface Firing {
  rule: PolicyRule;
  host: string;
  /** When (the reading's time, ms since the epoch). */
  at: number;
  /** "policy busy-host: lab-a used 1.9 of 2 cores for 30 s (above 0.8 per core)": the move's trigger. */
  reason: string;
}

export interface Step {
  arm: Arm;
  firing?: Firing;
  /** The fired rule re-armed on this reading, and why, in words. */
  rearmed?: string;
}

/** One reading through one rule: pure. */
export function step(rule: PolicyRule, arm: Arm, state: HostState): Step {
  const m = measure(rule, state);
  if (!m) return { arm: { fired: arm.fired } };
  const isMem = 'memAvailableBelowMiB' in rule.when;
  const holds = 'memAvailableBelowMiB' in rule.when ? m.value < rule.when.memAvailableBelowMiB : m.value > rule.when.cpuPerCoreAbove;
  if (arm.fired) {
    const clear = 'memAvailableBelowMiB' in rule.when ? (rule.clearAbove ?? rule.when.memAvailableBelowMiB * CLEAR_MEM) : (rule.clearBelow ?? rule.when.cpuPerCoreAbove * CLEAR_CPU);
    const cleared = isMem ? m.value > clear : m.value < clear;
    if (!cleared) return { arm };
    const now = isMem ? `${Math.round(m.value)} MiB available, above ${clear} MiB` : `${m.value.toFixed(2)} per core, below ${round(clear)}`;
    return { arm: { fired: false }, rearmed: `policy ${rule.name} re-armed on ${state.host}: ${now}` };
  }
  if (!holds) return { arm: { fired: false } };
  const since = arm.since ?? state.measuredAt;
  const held = state.measuredAt - since;
  if (held < rule.forSeconds * 1000) return { arm: { since, fired: false } };
  return { arm: { fired: true }, firing: { rule, host: state.host, at: state.measuredAt, reason: `policy ${rule.name}: ${m.text(Math.round(held / 1000))}` } };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The hosts a rule watches. */
export function watchedBy(rule: PolicyRule, configured: readonly string[]): readonly string[] {
  return rule.hosts ?? configured;
}

/** Every rule over successive readings of the hosts they watch. */
export class PolicyEvaluator {
  private readonly arms = new Map<string, Arm>();

  constructor(
    private readonly rules: readonly PolicyRule[],
    private readonly configured: readonly string[],
  ) {}

  observe(state: HostState): Step[] {
    return this.rules
      .filter((rule) => watchedBy(rule, this.configured).includes(state.host))
      .map((rule) => {
        const key = `${rule.name}\n${state.host}`;
        const next = step(rule, this.arms.get(key) ?? { fired: false }, state);
        this.arms.set(key, next.arm);
        return next;
      });
  }
}

/** A mark as the watcher keeps it: a PID mark remembers the command line it first ran, so a
 * PID the kernel reuses for another process is never taken for the marked one. */
export type TrackedMark = { host: string; pid: number; seen?: string } | { host: string; command: string };

/** The marked process trees among `processes` of `host` (the top of each: its children move
 * with it), and the PID marks whose process is gone (or is another process now). */
export function markedTrees(marks: readonly TrackedMark[], host: string, processes: readonly ProcessInfo[]): { trees: ProcessInfo[]; gone: TrackedMark[] } {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const chosen = new Set<ProcessInfo>();
  const gone: TrackedMark[] = [];
  for (const mark of marks) {
    if (mark.host !== host) continue;
    if ('pid' in mark) {
      const p = byPid.get(mark.pid);
      if (p && (mark.seen === undefined || mark.seen === p.command)) chosen.add(p);
      else gone.push(mark);
    } else {
      const re = new RegExp(mark.command);
      const matches = (p: ProcessInfo | undefined) => !!p && re.test(p.command) && !isHelper(p);
      for (const p of processes) if (p.pid > 1 && matches(p) && !matches(byPid.get(p.ppid))) chosen.add(p);
    }
  }
  const inChosen = (p: ProcessInfo): boolean => {
    for (let up = byPid.get(p.ppid), n = 0; up && n < 64; up = byPid.get(up.ppid), n++) if (chosen.has(up)) return true;
    return false;
  };
  return { trees: [...chosen].filter((p) => !inChosen(p)).sort((a, b) => a.pid - b.pid), gone };
}

/** The helper's own commands (its `ps` may match a user's regular expression). */
function isHelper(p: ProcessInfo): boolean {
  return p.command.includes('procmig-helper') || /helper-[0-9a-f]{12}\.sh/.test(p.command);
}

/** A tree's CPU (percent of a core, as `ps` says) and RSS, its children included. */
export function treeUse(root: ProcessInfo, processes: readonly ProcessInfo[]): { cpu: number; rssKiB: number } {
  const children = new Map<number, ProcessInfo[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  let cpu = 0;
  let rssKiB = 0;
  const walk = (p: ProcessInfo, depth: number) => {
    cpu += p.cpu;
    rssKiB += p.rssKiB;
    if (depth < 64) for (const c of children.get(p.pid) ?? []) walk(c, depth + 1);
  };
  walk(root, 0);
  return { cpu, rssKiB };
}

export interface Pick {
  move: ProcessInfo[];
  /** Marked trees not moved now because they moved too recently. */
  held: { process: ProcessInfo; reason: string }[];
}

/** Which of the marked trees a firing moves: all of them, or the largest consumer (CPU, or RSS
 * for a memory rule); a tree moved within `minSecondsBetweenMoves` is held. */
export function pickProcesses(
  firing: Firing,
  trees: readonly ProcessInfo[],
  processes: readonly ProcessInfo[],
  lastMovedAt: (host: string, pid: number) => number | undefined,
  minSecondsBetweenMoves: number,
): Pick {
  const held: Pick['held'] = [];
  const eligible = trees.filter((p) => {
    const last = lastMovedAt(firing.host, p.pid);
    const ago = last === undefined ? Infinity : (firing.at - last) / 1000;
    if (ago >= minSecondsBetweenMoves) return true;
    held.push({ process: p, reason: `PID ${p.pid} on ${firing.host} was moved ${Math.round(ago)} s ago; it stays for at least ${minSecondsBetweenMoves} s (minSecondsBetweenMoves)` });
    return false;
  });
  if (firing.rule.move === 'marked' || eligible.length < 2) return { move: eligible, held };
  const size = (p: ProcessInfo) => ('memAvailableBelowMiB' in firing.rule.when ? treeUse(p, processes).rssKiB : treeUse(p, processes).cpu);
  const largest = eligible.reduce((a, b) => (size(b) > size(a) ? b : a));
  return { move: [largest], held };
}
