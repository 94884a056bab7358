// One migration of one process tree: what every strategy shares. It connects, runs the
// preflight (preflightRun.ts), prepares the destination before the freeze (early event
// request; the images' way in imageRoute.ts), and finishes or rolls back. Nothing is lost: the
// source is killed only after the destination runs the process; any failure before that resumes
// the source and removes the destination's copy. Strategies see it through StrategyContext.
import { CheckpointError, type CheckpointEngine, type RestoredProcess } from '../checkpoint/engine';
import { HostHelper } from '../helper/hostHelper';
import type { ProcessInspection } from '../helper/inspection';
import type { ByteCounter } from '../transport/bridge';
import type { MigrateOptions, MigrationRequest, MigrationResult, PhaseName } from './api';
import type { BatchLink } from './batchLinks';
import { CancelledError, PreflightError, sentenceFor, throwIfAborted } from './errors';
import { HostGuard } from './guard';
import { ImageRoute, type Side } from './imageRoute';
import { treeRssKiB } from './preflight';
import { runPreflight, type Preflight, type PreflightRunner } from './preflightRun';
import { Rollback } from './rollback';
import type { RoutePool } from './routePool';
import type { StrategyContext, StrategySwitch } from './strategies/context';
import { chooseMemoryWay, chooseStrategy, type StrategyChoice } from './strategy';
import { Timeline } from './timeline';

export interface HostSource {
  get(name: string): Promise<import('../transport/host').Host>;
}

export interface SessionDeps {
  hosts: HostSource;
  checkpoint: CheckpointEngine;
  log: (line: string) => void;
  /** Routes readied before their migration, for the hosts of `hosts` (routePool.ts). */
  routes?: Pick<RoutePool, 'take'>;
}

export class MigrationSession {
  private readonly timeline = new Timeline();
  private readonly rollback = new Rollback();
  private readonly transferred: ByteCounter = { bytes: 0 };
  readonly result: MigrationResult;
  /** Set by connect(). */
  private helpers?: { source: HostHelper; destination: HostHelper };
  /** Set by preflight(). */
  private checked?: Preflight;
  /** Made with the helpers: its directories outlive a strategy's switch, for fail(). */
  private route?: ImageRoute;
  /** PIDs of the source tree, root first, as frozen by the dump. */
  private sourceTree: number[] = [];
  private restored?: RestoredProcess;
  private held = false;
  /** Whether `afterThaw` was called. */
  private running = false;
  /** Undo on each host what the rollback here could not, should this machine go away. */
  private readonly guards: Partial<Record<Side, HostGuard>> = {};

  constructor(
    private readonly deps: SessionDeps,
    readonly request: MigrationRequest,
    private readonly options: MigrateOptions = {},
    /** In a batch: connections to the other trees are kept (batchLinks.ts). */
    private readonly link?: BatchLink,
  ) {
    this.result = {
      ok: false,
      from: request.from,
      to: request.to,
      sourcePid: request.pid,
      strategy: 'stop-and-copy',
      strategyReason: '',
      phases: this.timeline.phases,
      freezeMs: 0,
      totalMs: 0,
      bytes: 0,
      options: [],
      startedAt: this.timeline.startedAt.toISOString(),
    };
  }

  private progress(phase: PhaseName, message: string) {
    this.deps.log(`[${this.request.from}→${this.request.to} ${this.request.pid}] ${phase}: ${message}`);
    this.options.onProgress?.({ phase, message });
  }

  checkCancelled() {
    throwIfAborted(this.options.signal);
  }

  private get source(): HostHelper {
    return this.connected().source;
  }

  private get destination(): HostHelper {
    return this.connected().destination;
  }

  private connected(): { source: HostHelper; destination: HostHelper } {
    if (!this.helpers) throw new Error('The migration session is not connected yet.');
    return this.helpers;
  }

  private preflightDone(): Preflight {
    if (!this.checked) throw new Error('The migration session has not run its preflight yet.');
    return this.checked;
  }

  /** Connects both hosts and runs the helper there. */
  async connect(): Promise<void> {
    const { from, to } = this.request;
    if (from === to) throw new PreflightError([`${from} is both the source and the destination; pick another destination host.`]);
    this.progress('connect', `connecting to ${from} and ${to}`);
    await this.timeline.phase('connect', async () => {
      const [s, d] = await Promise.all([this.deps.hosts.get(from), this.deps.hosts.get(to)]);
      this.helpers = { source: HostHelper.for(s), destination: HostHelper.for(d) };
    });
    const { source, destination } = this.connected();
    const session = this;
    const routes = this.deps.routes;
    this.route = new ImageRoute({
      from,
      to,
      source,
      destination,
      rollback: this.rollback,
      guard: (side) => this.guard(side),
      transferred: this.transferred,
      // Known once the preflight ran, before anything is copied.
      get carried() {
        return session.checked?.carried ?? [];
      },
      report: this.result,
      progress: (message) => this.progress('connect', message),
      log: this.deps.log,
      readied: routes && (() => routes.take(from, to)),
    });
  }

  /** Opens the images' way (directories, page tunnel) while the preflight runs: see
   * ImageRoute.prepareEarly. For migrations, whose every strategy needs it. */
  prepareEarly(): void {
    this.images().prepareEarly();
  }

  /** Everything that can be checked without touching the process (`run`: the real preflight
   * unless a test gives another; `standby`: for a standby's checkpoint, restored only later). */
  async preflight({ run = runPreflight, standby = false }: { run?: PreflightRunner; standby?: boolean } = {}): Promise<ProcessInspection> {
    const { pid } = this.request;
    const { source, destination } = this.connected();
    this.progress('preflight', `checking process ${pid} and both hosts`);
    const context = {
      checkpoint: this.deps.checkpoint,
      options: this.options,
      link: this.link,
      progress: (p: PhaseName, m: string) => this.progress(p, m),
      checkCancelled: () => this.checkCancelled(),
      standby,
    };
    const checked = await this.timeline.phase('preflight', () => run(source, destination, this.request, context));
    this.checked = checked;
    this.result.listeningPorts = checked.listeningPorts;
    if (checked.closedConnections) this.result.closedConnections = checked.closedConnections;
    this.result.options = [...checked.options];
    return checked.inspection;
  }

  private guard(side: Side): HostGuard {
    return (this.guards[side] ??= HostGuard.start(this[side], this.deps.log));
  }

  private async releaseGuards(): Promise<void> {
    await Promise.all([this.guards.source?.release(), this.guards.destination?.release()]);
  }

  /** Picks the strategy now that the process and both hosts are known. */
  chooseStrategy(): StrategyChoice {
    const { sourceCaps, destinationCaps, inspection } = this.preflightDone();
    const requested = this.request.strategy ?? 'auto';
    const choice = chooseStrategy({
      requested,
      rssKiB: treeRssKiB(inspection),
      postCopyProblem: this.deps.checkpoint.postCopyProblem(sourceCaps, destinationCaps),
      preCopyProblem: this.deps.checkpoint.preCopyProblem(sourceCaps, destinationCaps, requested === 'pre-copy'),
    });
    this.result.strategy = choice.strategy;
    this.result.strategyReason = choice.reason;
    this.progress('preflight', `strategy ${choice.strategy}: ${choice.reason}`);
    return choice;
  }

  /** What the strategy `choice` works with (contracts in strategies/context.ts). */
  strategyContext(choice: StrategyChoice): StrategyContext {
    const { pid, from, to } = this.request;
    const { plan, inspection, sourceCaps, destinationCaps } = this.preflightDone();
    const { source, destination } = this.connected();
    const stoppedBefore = inspection.tasks[0]?.state.startsWith('T') ?? false;
    const memoryIntoProcess =
      choice.strategy === 'stop-and-copy'
        ? chooseMemoryWay({
            rssKiB: treeRssKiB(inspection),
            postCopyProblem: this.deps.checkpoint.postCopyProblem(sourceCaps, destinationCaps),
            terminal: !!plan.terminalSession,
            stoppedBefore,
          })
        : undefined;
    return {
      pid,
      from,
      to,
      source,
      destination,
      checkpoint: this.deps.checkpoint,
      plan,
      fallback: choice.fallback,
      stoppedBefore,
      ...(memoryIntoProcess ? { memoryIntoProcess } : {}),
      images: this.images(),
      report: this.result,
      progress: (phase, message) => this.progress(phase, message),
      phase: (name, work) => this.timeline.phase(name, work),
      checkCancelled: () => this.checkCancelled(),
      onRollback: (what, undo) => this.rollback.add(what, undo),
      resumeSource: () => this.resumeSource(),
      freeze: () => this.freeze(),
      hold: (restored) => this.hold(restored),
      verify: (restored) => this.verify(restored),
      ranOn: () => this.thaw(),
      keep: (dir) => this.keep(dir),
      commit: () => this.commit(),
    };
  }

  private images(): ImageRoute {
    if (!this.route) throw new Error('The migration session is not connected yet.');
    return this.route;
  }

  /** Auto's pre-copy that cannot catch up: nothing is frozen yet, so what it set up is undone
   * (page server, tunnel, images) before its other choice runs. */
  async switchStrategy({ instead, why }: StrategySwitch): Promise<void> {
    this.progress('rounds', `${why}: pre-copy could not catch up, so ${instead.strategy} runs instead`);
    for (const failure of await this.rollback.run()) this.deps.log(`rollback: ${failure}`);
    this.result.roundsStopped = `abandoned: ${why}`;
    this.result.strategy = instead.strategy;
    this.result.strategyReason = `${instead.reason} (pre-copy was tried first, but ${why})`;
    this.result.transfer = undefined;
  }

  /** Marks the freeze and registers the resume of the source tree. Timed as the `freeze` phase:
   * in a batch it waits for the others and for a freeze slot. */
  private async freeze(): Promise<void> {
    await this.timeline.phase('freeze', async () => {
      await this.options.beforeFreeze?.();
      // Before the first tree of a batch is restored (all have passed their preflight by now).
      await this.link?.lock(this.destination);
      this.checkCancelled();
      this.sourceTree = this.preflightDone().inspection.tasks.map((t) => t.pid);
      this.guard('source').frozen(this.request.pid, this.sourceTree);
      const closed = this.result.closedConnections ?? [];
      if (closed.length) {
        this.progress('freeze', `closing ${closed.length} established TCP connection${closed.length > 1 ? 's' : ''}, which cannot move: ${closed.join(', ')}`);
      }
      this.rollback.add(`resume the process on ${this.request.from}`, () => this.resumeSource());
    });
    this.timeline.freeze();
  }

  private async resumeSource(): Promise<void> {
    await this.signalSourceTree('CONT');
  }

  /** Signals the source tree as the host sees it now and as it was frozen: the dump may have
   * seen a different tree than the inspection (children come and go). */
  private async signalSourceTree(signal: 'CONT' | 'KILL'): Promise<void> {
    await this.source.run(['signal-tree', signal, String(this.request.pid), ...this.sourceTree.map(String)]);
  }

  /** A copy its restore left stopped, its memory still on the way: verify() resumes it. */
  private hold(restored: RestoredProcess): void {
    this.adopt(restored);
    this.held = true;
  }

  /** Takes the restored copy in, once: reported, watched by the destination's guard, and
   * stopped by a rollback. */
  private adopt(restored: RestoredProcess): void {
    if (this.restored) return;
    this.restored = restored;
    const { pid } = restored;
    if (restored.newPidNamespace) {
      const { takenPid, pidInside } = restored.newPidNamespace;
      this.result.options.push({
        option: 'restore in a new PID namespace (unshare --pid)',
        reason: `PID ${takenPid} is in use on ${this.request.to}; in its own namespace the process keeps PID ${pidInside}, and ${this.request.to} sees it as PID ${pid}`,
      });
    }
    if (restored.terminalOption) this.result.options.push(restored.terminalOption);
    const destination = this.destination;
    this.guard('destination').restored(pid, restored.terminalSession);
    this.rollback.add(`stop the half-migrated copy on ${this.request.to}`, async () => {
      await destination.run(['signal-tree', 'KILL', String(pid)]);
      await this.deps.checkpoint.discard?.(destination, restored);
    });
  }

  /** The restored process must run (not exit, not stay stopped) on the destination; a held
   * copy is resumed first. */
  private async verify(restored: RestoredProcess): Promise<void> {
    const { pid } = restored;
    const destination = this.destination;
    if (this.held) await this.timeline.phase('restore', () => destination.run(['signal-tree', 'CONT', String(pid)]));
    this.adopt(restored);
    this.timeline.restored();
    // It runs on the destination: a batch's next process may freeze while this one is checked.
    this.notifyRunning();
    this.progress('verify', `checking that process ${pid} runs on ${this.request.to}`);
    await this.timeline.phase('verify', async () => {
      const state = (await destination.run(['verify', String(pid)])).trim();
      if (state !== 'running') {
        throw new Error(`The process was restored on ${this.request.to} but is ${state} there right after; it keeps running on ${this.request.from}.`);
      }
    });
    this.thaw();
  }

  private thaw(): void {
    this.timeline.thaw();
    this.notifyRunning();
  }

  /** `afterThaw`, once: the process runs again, on the destination or (rolled back) the source. */
  private notifyRunning(): void {
    if (this.running) return;
    this.running = true;
    this.options.afterThaw?.();
  }

  /** The point of no return: the destination runs the process, so the source copy goes, and
   * then the images. */
  private async commit(): Promise<void> {
    this.checkCancelled();
    if (this.link && !(await this.link.restored())) {
      throw new Error(`A process connected to this one failed to move to ${this.request.to}, so this one stays on ${this.request.from} too.`);
    }
    // The destination's guard first: once the source is gone, nothing may end the new copy.
    if (this.guards.destination && !(await this.guards.destination.release())) {
      throw new Error(`The connection to ${this.request.to} was lost just before the end of the migration; the process keeps running on ${this.request.from}.`);
    }
    // From here the destination's copy is the process: should this machine go away before the
    // kill below, the source's guard ends the frozen original instead of resuming it.
    this.guards.source?.committed();
    this.rollback.clear();
    this.progress('cleanup', `stopping the frozen original on ${this.request.from}`);
    await this.timeline.phase('cleanup', async () => {
      await this.signalSourceTree('KILL');
      await this.images().removeCarriedFromSource();
    });
    await this.guards.source?.release();
    this.result.ok = true;
    this.result.destinationPid = this.restored?.pid;
    if (this.restored?.terminalSession) {
      const session = this.restored.terminalSession;
      this.result.terminal = { host: this.request.to, session, attach: ['tmux', 'attach', '-t', session] };
    }
    await this.images().removeAll();
  }

  /** A standby's checkpoint is complete: the destination keeps its images in `dir`. */
  private async keep(dir: string): Promise<void> {
    this.checkCancelled();
    this.rollback.clear();
    await this.releaseGuards();
    this.images().forget(dir);
    await this.images().removeAll();
    this.result.ok = true;
  }

  /** Rolls back after `err` and records the outcome. */
  async fail(err: unknown): Promise<void> {
    const { from, to } = this.request;
    this.link?.leave(this.timeline.frozen);
    this.result.error = err instanceof CancelledError ? `Cancelled; the process keeps running on ${from}.` : sentenceFor(err);
    if (err instanceof CheckpointError && err.log.length) {
      this.result.logs = { [err.host === to ? 'destination' : 'source']: err.log.join('\n') };
    }
    this.progress('cleanup', `rolling back: ${this.result.error}`);
    const wasFrozen = this.timeline.frozen;
    // What an early preparation is still making must be registered before the rollback runs.
    await this.route?.settled();
    const failures = await this.rollback.run();
    for (const f of failures) this.deps.log(`rollback: ${f}`);
    await this.releaseGuards();
    // Images hold process memory: if they could not be deleted, say where they are.
    const kept = this.route?.leftBehind() ?? [];
    if (kept.length) this.result.error += ` Checkpoint images could not be deleted (${kept.join(', ')}); delete them by hand, or the next migration there removes them after 6 hours.`;
    this.thaw();
    // Before the freeze nothing was touched; after it, confirm the source runs again.
    if (!wasFrozen) {
      this.result.rolledBack = true;
      return;
    }
    const state = (await this.source.run(['state', String(this.request.pid)]).catch(() => 'unknown')).trim();
    this.result.rolledBack = state === 'running';
    if (!this.result.rolledBack) {
      this.result.error += ` The process could not be confirmed running on ${from} (${state}); check it there.`;
    }
  }

  finish(): MigrationResult {
    this.result.freezeMs = this.timeline.freezeMs(this.result.ok);
    this.result.totalMs = this.timeline.totalMs;
    this.result.bytes = this.transferred.bytes;
    return this.result;
  }
}
