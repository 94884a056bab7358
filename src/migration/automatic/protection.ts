// Protection: a process checkpointed on an interval onto a standby host, and restored there when
// its host stops answering. Two loops share the state: the checkpoints (protectionSteps.ts does
// the host work), and the probes that measure how long the host has been silent. Never two
// running copies without the user's say: the restore waits for `confirmFailover` unless failover
// is `auto`, and an old copy found running when its host comes back is frozen before
// `chooseSurvivor` is asked.
import type { ChosenOption, Protection, ProtectionCheckpoint, ProtectionEvent, ProtectionFailover, ProtectOptions, ProtectRequest } from '../api';
import { sentenceFor } from '../errors';
import { HostProtectionSteps, type ProbeAnswer, type ProtectionSteps, type StepDeps } from './protectionSteps';

/** `lostAfterSeconds` by default: this many intervals of silence. */
const DEFAULT_LOST_INTERVALS = 3;

/** Probes per `lostAfterSeconds`, within these bounds: a crash is noticed within a probe. */
const PROBES_PER_LOSS = 4;
const PROBE_MS = { min: 250, max: 2_000 };

type Phase = 'protecting' | 'lost' | 'failed-over' | 'ended';

export function protect(deps: StepDeps, request: ProtectRequest, options: ProtectOptions = {}): Protection {
  return new Protector(request, options, new HostProtectionSteps(deps, request));
}

export class Protector implements Protection {
  readonly done: Promise<ProtectionEvent | undefined>;
  options: ChosenOption[] = [];
  endReason?: string;

  private phase: Phase = 'protecting';
  private generation = 0;
  /** The newest checkpoint complete on the standby. */
  private newest?: { generation: number; at: Date };
  /** When the host last answered a probe or a checkpoint. */
  private answeredAt = Date.now();
  private lastFailover?: ProtectionFailover;
  private restoredPid?: number;
  private stopping = false;
  private readonly wake = new Set<() => void>();
  private readonly lostAfterMs: number;
  private readonly probeMs: number;

  constructor(
    readonly request: ProtectRequest,
    private readonly protectOptions: ProtectOptions,
    private readonly steps: ProtectionSteps,
  ) {
    if (!(request.everySeconds > 0)) throw new Error(`The checkpoint interval must be a positive number of seconds, not ${request.everySeconds}.`);
    this.lostAfterMs = 1000 * (request.lostAfterSeconds ?? DEFAULT_LOST_INTERVALS * request.everySeconds);
    this.probeMs = Math.min(PROBE_MS.max, Math.max(PROBE_MS.min, this.lostAfterMs / PROBES_PER_LOSS));
    protectOptions.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.done = this.run();
    this.done.catch(() => undefined); // the caller's to handle; never unhandled here
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp();
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<ProtectionEvent | undefined> {
    try {
      this.options = (await this.steps.start()).options;
    } catch (err) {
      this.phase = 'ended';
      await this.steps.end().catch(() => undefined);
      throw new Error(sentenceFor(err));
    }
    this.answeredAt = Date.now();
    await Promise.all([this.checkpointLoop(), this.probeLoop()]);
    await this.steps.end().catch((e) => {
      this.endReason = `${this.endReason ?? ''} The checkpoints on ${this.request.standby} could not be deleted (${sentenceFor(e)}); delete them there by hand, or they are swept after a day.`.trim();
    });
    return this.lastFailover;
  }

  private get over(): boolean {
    return this.stopping || this.phase === 'ended';
  }

  private end(reason: string): void {
    this.phase = 'ended';
    this.endReason = reason;
    this.wakeUp();
  }

  private emit(event: ProtectionEvent): void {
    if (event.kind === 'failover') this.lastFailover = event;
    this.protectOptions.onEvent?.(event);
  }

  // --- checkpoints ----------------------------------------------------------------------------

  private async checkpointLoop(): Promise<void> {
    while (!this.over) {
      if (this.phase === 'protecting') {
        const started = Date.now();
        await this.checkpointOnce();
        await this.sleep(this.request.everySeconds * 1000 - (Date.now() - started));
      } else {
        await this.sleep(this.probeMs);
      }
    }
  }

  private async checkpointOnce(): Promise<void> {
    const generation = ++this.generation;
    const at = new Date();
    const commit = () => this.phase === 'protecting' && !this.stopping;
    try {
      const taken = await this.steps.checkpoint(generation, commit);
      if (!taken) return;
      this.answeredAt = Date.now();
      this.newest = { generation, at };
      const event: ProtectionCheckpoint = { kind: 'checkpoint', at: at.toISOString(), generation, freezeMs: taken.freezeMs, totalMs: Date.now() - at.getTime(), bytes: taken.bytes, storedBytes: taken.storedBytes };
      this.emit(event);
    } catch (err) {
      // A checkpoint that failed because the host went away is the probes' to report.
      if (this.over || (await this.probe()) !== 'running') return;
      this.emit({ kind: 'checkpoint', at: at.toISOString(), generation, freezeMs: 0, totalMs: Date.now() - at.getTime(), bytes: 0, error: sentenceFor(err) });
    }
  }

  // --- probes and failover ----------------------------------------------------------------------

  /** The host's answer, or `silent` when it gave none in time. */
  private async probe(): Promise<ProbeAnswer | 'silent'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), Math.max(this.probeMs * 2, 3_000))));
    try {
      const answer = await Promise.race([this.steps.probe().catch(() => 'silent' as const), timeout]);
      if (answer !== 'silent') this.answeredAt = Date.now();
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  private async probeLoop(): Promise<void> {
    while (!this.over) {
      const answer = await this.probe();
      if (this.over) return;
      if (answer === 'silent') {
        if (this.phase === 'protecting' && Date.now() - this.answeredAt >= this.lostAfterMs) await this.failover();
      } else {
        await this.answered(answer);
      }
      await this.sleep(this.probeMs);
    }
  }

  /** The host answered: what that means depends on what happened before. */
  private async answered(answer: ProbeAnswer): Promise<void> {
    const { pid, from, standby } = this.request;
    if (this.phase === 'protecting' && answer === 'gone') {
      this.end(`Process ${pid} ended on ${from}; protection ends and its checkpoints on ${standby} are deleted.`);
    } else if (this.phase === 'lost') {
      // Not restored (declined, or the restore failed): protect on if it still runs there.
      if (answer === 'running') this.phase = 'protecting';
      else this.end(`${from} answers again but process ${pid} no longer runs there, and its checkpoint was not restored on ${standby}; protection ends and the checkpoint is deleted.`);
    } else if (this.phase === 'failed-over') {
      await this.oldHostBack(answer);
    }
  }

  private async failover(): Promise<void> {
    const { pid, from, standby } = this.request;
    const detectedAt = Date.now();
    const silentForMs = detectedAt - this.answeredAt;
    this.phase = 'lost';
    const failed = (error: string): void => this.emit({ kind: 'failover', ok: false, host: from, standby, error, ...(this.newest ? { checkpointAt: this.newest.at.toISOString(), workLostMs: detectedAt - this.newest.at.getTime() } : {}) });
    const newest = this.newest;
    if (!newest) return failed(`${from} has not answered for ${seconds(silentForMs)} and no checkpoint of process ${pid} is complete on ${standby} yet, so there is nothing to restore.`);
    const checkpointAt = newest.at.toISOString();
    if (this.request.failover !== 'auto') {
      const confirmed = await (this.protectOptions.confirmFailover?.({ host: from, standby, pid, silentForMs, checkpointAt }) ?? Promise.resolve(false)).catch(() => false);
      if (this.over) return;
      if (!confirmed) {
        return failed(`${from} has not answered for ${seconds(silentForMs)}; process ${pid} was not restored on ${standby} without your say. Protection goes on should ${from} come back.`);
      }
    }
    const restoring = Date.now();
    try {
      this.restoredPid = await this.steps.restore(newest.generation);
    } catch (err) {
      return failed(`Restoring process ${pid} on ${standby} from its checkpoint of ${checkpointAt} failed: ${sentenceFor(err)}`);
    }
    this.phase = 'failed-over';
    this.emit({
      kind: 'failover',
      ok: true,
      host: from,
      standby,
      checkpointAt,
      workLostMs: detectedAt - newest.at.getTime(),
      // The time asking the user took is theirs, not the failover's.
      detectionToRunningMs: this.request.failover === 'auto' ? Date.now() - detectedAt : Date.now() - restoring,
      destinationPid: this.restoredPid,
    });
  }

  /** After a failover the old host answers again: one copy must run. */
  private async oldHostBack(answer: ProbeAnswer): Promise<void> {
    const { pid, from, standby } = this.request;
    const restored = this.restoredPid ?? 0;
    if (answer === 'gone') {
      return this.end(`${from} is back and its copy of process ${pid} is gone: the process runs on ${standby} alone (PID ${restored}).`);
    }
    try {
      await this.steps.signalOld('STOP');
    } catch (err) {
      return this.end(`${from} is back and its copy of process ${pid} may still run, and could not be frozen (${sentenceFor(err)}): two copies may run; end one (PID ${pid} on ${from}, PID ${restored} on ${standby}).`);
    }
    const choose = this.protectOptions.chooseSurvivor;
    const keep = choose ? await choose({ host: from, standby, pid, standbyPid: restored }).catch(() => undefined) : undefined;
    try {
      if (keep === 'old') {
        await this.steps.killRestored(restored);
        await this.steps.signalOld('CONT');
        this.end(`Kept the copy on ${from} (PID ${pid}), which runs again; the one restored on ${standby} was ended.`);
      } else if (keep === 'standby') {
        await this.steps.signalOld('KILL');
        this.end(`Kept the copy on ${standby} (PID ${restored}); the old one on ${from} was ended.`);
      } else {
        this.end(`${from} is back and its copy of process ${pid} is frozen there; the process runs on ${standby} (PID ${restored}): end one copy (kill -KILL), or resume the old one (kill -CONT ${pid} on ${from}) after ending the other.`);
      }
    } catch (err) {
      this.end(`Keeping one copy of process ${pid} failed (${sentenceFor(err)}); check PID ${pid} on ${from} and PID ${restored} on ${standby}.`);
    }
  }

  // --- timers -------------------------------------------------------------------------------------

  /** Sleeps `ms`, or less when the protection ends. */
  private sleep(ms: number): Promise<void> {
    if (this.over || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private wakeUp(): void {
    for (const w of [...this.wake]) w();
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
