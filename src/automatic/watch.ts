// The policy loop (`procmig watch`, and the extension's policies): every few seconds it measures
// the watched hosts, feeds the readings to the rules, and when one fires moves the marked
// processes it picks to the best host. Only marked processes ever move; a process is not moved
// twice within minSecondsBetweenMoves; one move runs at a time. A dry run only says what it would
// do.
import { sleep } from '../common/sleep';
import type { Engine, MigrateOptions, MigrationResult, Placement } from '../migration/api';
import type { HostStates } from './hostStates';
import { migrateToBest, placeProcess } from './placement';
import { type Firing, markedTrees, pickProcesses, type Policies, PolicyEvaluator, type TrackedMark, watchedBy } from './policy';

/** How often the watched hosts are measured by default. */
export const WATCH_EVERY_MS = 3000;

export type WatchEventKind = 'watching' | 'fired' | 're-armed' | 'would-move' | 'moved' | 'not-moved' | 'held' | 'forgotten' | 'stopped';

/** One thing the watcher did or decided; `message` is its sentence. */
export interface WatchEvent {
  event: WatchEventKind;
  /** ISO time. */
  time: string;
  message: string;
  rule?: string;
  host?: string;
  pid?: number;
  to?: string;
  /** `moved` and `not-moved`: the migration's result, `trigger` set to the firing's reason. */
  result?: MigrationResult;
  /** `would-move`: where the dry run would send it, and why. */
  placement?: Placement;
}

/** A move the watcher is about to start (the `moved` or `not-moved` event of its PID ends it). */
export interface PlannedMove {
  rule: string;
  host: string;
  pid: number;
  name: string;
  /** The firing's reason: the move's trigger. */
  reason: string;
}

export interface WatchOptions {
  /** The ssh config's hosts: watched by rules without `hosts`, the destinations of rules without `among`. */
  configured: readonly string[];
  dryRun?: boolean;
  onEvent: (event: WatchEvent) => void;
  /** Called before each move: a signal that aborts that move alone (a Cancel button), and its
   * progress. */
  onMove?: (move: PlannedMove) => Pick<MigrateOptions, 'signal' | 'onProgress'> | undefined;
}

type WatchEngine = Pick<Engine, 'listProcesses' | 'checkFeasible' | 'migrate'>;

export class PolicyWatcher {
  private readonly evaluator: PolicyEvaluator;
  private marks: TrackedMark[];
  /** `host pid` → when it last arrived there by a move (or a move of it was tried). */
  private readonly lastMoved = new Map<string, number>();

  constructor(
    private readonly engine: WatchEngine,
    private readonly states: HostStates,
    private readonly policies: Policies,
    private readonly options: WatchOptions,
  ) {
    this.evaluator = new PolicyEvaluator(policies.rules, options.configured);
    this.marks = [...policies.marked];
  }

  /** The hosts any rule watches. */
  get watched(): string[] {
    return [...new Set(this.policies.rules.flatMap((r) => watchedBy(r, this.options.configured)))];
  }

  /** The hosts measured each round: the watched ones, and the destinations too, so that placement
   * finds their CPU use already a rate (a first reading has only the shared load average). */
  get measured(): string[] {
    return [...new Set([...this.watched, ...this.policies.rules.flatMap((r) => r.among ?? this.options.configured)])];
  }

  /** The marks as they are now (moved processes marked on their new host with their new PID). */
  get marked(): readonly TrackedMark[] {
    return this.marks;
  }

  /** Replaces the marks while it runs (the user allowed or stopped automatic moves): the rules'
   * state and the times of past moves stay, so minSecondsBetweenMoves still holds. */
  setMarked(marks: readonly TrackedMark[]): void {
    const tracked = (m: TrackedMark) => this.marks.find((k) => 'pid' in k && 'pid' in m && k.host === m.host && k.pid === m.pid);
    this.marks = marks.map((m) => ('pid' in m && m.seen === undefined ? { ...m, seen: (tracked(m) as { seen?: string } | undefined)?.seen } : m));
  }

  /** Measures and acts until `signal` aborts (Ctrl-C); a move under way then rolls back. */
  async run(signal: AbortSignal, everyMs = WATCH_EVERY_MS): Promise<void> {
    const rules = this.policies.rules.map((r) => r.name).join(', ');
    this.emit('watching', `watching ${this.watched.join(', ')} with ${this.policies.rules.length === 1 ? 'rule' : 'rules'} ${rules}; ${this.marks.length} marked${this.options.dryRun ? '; dry run: nothing will be moved' : ''}`);
    await this.checkMarks(signal);
    while (!signal.aborted) {
      await this.tick(signal);
      await sleep(everyMs, signal);
    }
    this.emit('stopped', 'stopped watching');
  }

  /** One round: measure the hosts (bounded by HostStates), then act on what fired. */
  async tick(signal?: AbortSignal): Promise<void> {
    const readings = await Promise.all(this.measured.map((h) => this.states.probe(h)));
    for (const reading of readings) {
      for (const s of this.evaluator.observe(reading)) {
        if (signal?.aborted) return;
        if (s.rearmed) this.emit('re-armed', s.rearmed, { host: reading.host });
        if (s.firing) await this.act(s.firing, signal);
      }
    }
  }

  /** Remembers what each PID mark runs (so a reused PID is never taken for it) and forgets the
   * marks whose process does not run. */
  async checkMarks(signal?: AbortSignal): Promise<void> {
    const hosts = [...new Set(this.marks.filter((m) => 'pid' in m).map((m) => m.host))];
    await Promise.all(
      hosts.map(async (host) => {
        const processes = await this.engine.listProcesses(host).catch(() => undefined);
        if (!processes || signal?.aborted) return;
        this.forget(host, markedTrees(this.marks, host, processes).gone);
        const byPid = new Map(processes.map((p) => [p.pid, p]));
        this.marks = this.marks.map((m) => ('pid' in m && m.host === host && m.seen === undefined ? { ...m, seen: byPid.get(m.pid)?.command } : m));
      }),
    );
  }

  private async act(firing: Firing, signal?: AbortSignal): Promise<void> {
    const { rule, host } = firing;
    this.emit('fired', firing.reason, { rule: rule.name, host });
    let processes;
    try {
      processes = await this.engine.listProcesses(host);
    } catch (err) {
      this.emit('not-moved', `policy ${rule.name}: could not list the processes of ${host}: ${err instanceof Error ? err.message : String(err)}`, { rule: rule.name, host });
      return;
    }
    const { trees, gone } = markedTrees(this.marks, host, processes);
    this.forget(host, gone);
    if (!trees.length) {
      this.emit('not-moved', `policy ${rule.name}: no marked process runs on ${host}; nothing moved`, { rule: rule.name, host });
      return;
    }
    const pick = pickProcesses(firing, trees, processes, (h, pid) => this.lastMoved.get(`${h} ${pid}`), this.policies.minSecondsBetweenMoves);
    for (const h of pick.held) this.emit('held', `policy ${rule.name}: ${h.reason}`, { rule: rule.name, host, pid: h.process.pid });
    const among = rule.among ?? this.options.configured;
    for (const p of pick.move) {
      if (signal?.aborted) return;
      const what = `PID ${p.pid} (${p.name})`;
      if (this.options.dryRun) {
        const placement = await placeProcess(this.engine, this.states, { pid: p.pid, from: host, among }, signal);
        const message = placement.host ? `dry run: would move ${what} from ${host} to ${placement.host}: ${placement.reason}` : `dry run: would not move ${what}: ${placement.reason}`;
        this.emit('would-move', `${message} (${firing.reason})`, { rule: rule.name, host, pid: p.pid, to: placement.host, placement });
        continue;
      }
      let result: MigrationResult | undefined;
      let error: string | undefined;
      const hooks = this.options.onMove?.({ rule: rule.name, host, pid: p.pid, name: p.name, reason: firing.reason });
      const signals = [signal, hooks?.signal].filter((s): s is AbortSignal => s !== undefined);
      try {
        const options = { signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0], onProgress: hooks?.onProgress };
        result = { ...(await migrateToBest(this.engine, this.states, { pid: p.pid, from: host, among }, options)), trigger: firing.reason };
        error = result.error;
      } catch (err) {
        // The daemon outlives a move that threw: the engine rolled back, the process runs on.
        error = err instanceof Error ? err.message : String(err);
      }
      if (result?.ok && result.destinationPid !== undefined) {
        this.moved(host, p.pid, p.command, result.to, result.destinationPid, firing.at);
        this.emit('moved', `moved ${what} from ${host} to ${result.to}, now PID ${result.destinationPid} there (frozen ${result.freezeMs} ms), for ${firing.reason}`, { rule: rule.name, host, pid: p.pid, to: result.to, result });
      } else {
        // A failed try counts too: the rule does not hammer a process that cannot move now.
        this.lastMoved.set(`${host} ${p.pid}`, firing.at);
        this.emit('not-moved', `policy ${rule.name}: ${what} on ${host} was not moved: ${error}`, { rule: rule.name, host, pid: p.pid, result });
      }
    }
  }

  /** A moved process stays marked: on its new host, with its new PID. */
  private moved(from: string, pid: number, command: string, to: string, newPid: number, at: number): void {
    this.marks = [...this.marks.filter((m) => !('pid' in m && m.host === from && m.pid === pid)), { host: to, pid: newPid, seen: command }];
    this.lastMoved.delete(`${from} ${pid}`);
    this.lastMoved.set(`${to} ${newPid}`, at);
  }

  private forget(host: string, gone: readonly TrackedMark[]): void {
    for (const m of gone) {
      if (!('pid' in m)) continue;
      this.marks = this.marks.filter((k) => k !== m);
      this.lastMoved.delete(`${host} ${m.pid}`);
      this.emit('forgotten', `marked PID ${m.pid} no longer runs on ${host}: forgotten`, { host, pid: m.pid });
    }
  }

  private emit(event: WatchEventKind, message: string, fields: Partial<WatchEvent> = {}): void {
    this.options.onEvent({ event, time: new Date().toISOString(), message, ...fields });
  }
}
