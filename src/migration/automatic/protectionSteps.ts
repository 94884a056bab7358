// What a protection does on the hosts (protection.ts decides when): the preflight of the move to
// the standby, each checkpoint (dumped on the source while the process runs on, then streamed to
// the standby as a new generation), the restore there, and the old copy's freeze or end.
// Checkpoints are dumped to the source's disk first so that the freeze lasts the local dump only;
// the copy to the standby runs while the process runs.
import type { CheckpointEngine, CheckpointPlan } from '../../checkpoint/engine';
import { HostHelper, parseKeyValues } from '../../helper/hostHelper';
import { formatBytes } from '../../common/format';
import { pipeCommands, type ByteCounter } from '../../transport/bridge';
import type { ChosenOption, ProtectRequest } from '../api';
import { PreflightError } from '../errors';
import { treeRssKiB } from '../preflight';
import { runPreflight } from '../preflightRun';
import type { HostSource } from '../session';

/** The protected process on its host: still it, or gone (it exited, or its PID is another's). */
export type ProbeAnswer = 'running' | 'gone';

export interface CheckpointTaken {
  freezeMs: number;
  bytes: number;
  storedBytes: number;
}

/** The host work of a protection, faked in unit tests. Every method rejects with one sentence. */
export interface ProtectionSteps {
  /** Checks the move and makes the standby's directory; rejects when protection cannot start. */
  start(): Promise<{ options: ChosenOption[] }>;
  /** Checkpoint `generation`; `commit()` is asked before it replaces the newest one (a failover
   * under way keeps the one it restores). Undefined when not committed. */
  checkpoint(generation: number, commit: () => boolean): Promise<CheckpointTaken | undefined>;
  probe(): Promise<ProbeAnswer>;
  /** Restores `generation` on the standby; resolves with the PID once it runs there. */
  restore(generation: number): Promise<number>;
  /** The old copy, on the protected host: SIGSTOP, SIGCONT, SIGKILL (its tree). */
  signalOld(signal: 'STOP' | 'CONT' | 'KILL'): Promise<void>;
  /** Ends the restored copy on the standby. */
  killRestored(pid: number): Promise<void>;
  /** Deletes the standby's checkpoints. */
  end(): Promise<void>;
}

export interface StepDeps {
  hosts: HostSource;
  checkpoint: CheckpointEngine;
  log: (line: string) => void;
}

export class HostProtectionSteps implements ProtectionSteps {
  private plan?: CheckpointPlan;
  /** The standby's protection directory. */
  private dir?: string;
  /** The protected process's start time: with its PID, it names it across a reboot. */
  private startTime = '';
  private restoredSession?: string;

  constructor(
    private readonly deps: StepDeps,
    private readonly request: ProtectRequest,
  ) {}

  private async helper(host: string): Promise<HostHelper> {
    const helper = HostHelper.for(await this.deps.hosts.get(host));
    await helper.ensureInstalled();
    return helper;
  }

  private source = () => this.helper(this.request.from);
  private standby = () => this.helper(this.request.standby);

  private directory(): string {
    if (!this.dir) throw new Error('The protection has not started.');
    return this.dir;
  }

  async start(): Promise<{ options: ChosenOption[] }> {
    const { pid, from, standby: to } = this.request;
    if (from === to) throw new PreflightError([`${from} is both the protected host and the standby; pick another standby host.`]);
    const [source, standby] = await Promise.all([this.source(), this.standby()]);
    // The move to the standby must be feasible now: the same files, CRIU, CPU, memory there.
    const checked = await runPreflight(source, standby, { pid, from, to }, {
      checkpoint: this.deps.checkpoint,
      options: {},
      progress: (phase, message) => this.deps.log(`[protect ${from}→${to} ${pid}] ${phase}: ${message}`),
      checkCancelled: () => undefined,
    });
    if (checked.carried.length) {
      throw new PreflightError([
        `Process ${pid} keeps state in files on tmpfs (${checked.carried.map((f) => f.path).join(', ')}), which a checkpoint of the running process does not carry to ${to}; protect it once it no longer uses them, or migrate it instead.`,
      ]);
    }
    this.plan = checked.plan;
    this.startTime = parseKeyValues(await source.run(['protect-probe', String(pid)])).start ?? '';
    const made = parseKeyValues(await standby.run(['protect-new']));
    this.dir = made.dir;
    // The newest checkpoint, and the next one while it arrives: about twice the tree's memory.
    const needed = 2 * treeRssKiB(checked.inspection) * 1024;
    const free = Number(made.free_kib ?? 0) * 1024;
    if (free < needed) {
      await this.end();
      throw new PreflightError([
        `${to} has ${formatBytes(free)} free for checkpoints and protecting process ${pid} needs about ${formatBytes(needed)} (its newest checkpoint and the next one while it arrives); free disk space on ${to} or pick another standby.`,
      ]);
    }
    return { options: [...this.deps.checkpoint.runningCheckpointOptions(checked.sourceCaps), ...checked.options.filter((o) => !o.option.startsWith('dump --leave-stopped'))] };
  }

  async checkpoint(generation: number, commit: () => boolean): Promise<CheckpointTaken | undefined> {
    const { pid, from, standby: to } = this.request;
    const [source, standby] = await Promise.all([this.source(), this.standby()]);
    const sourceDir = parseKeyValues(await source.run(['mkimages'])).dir;
    if (!sourceDir) throw new Error(`Could not create an image directory on ${from}.`);
    try {
      if (!this.plan) throw new Error('The protection has not started.');
      const dumpStarted = performance.now();
      const taken = await this.deps.checkpoint.checkpointRunning(source, pid, sourceDir, this.plan);
      // CRIU's own measure of the freeze, else the dump's whole time (an upper bound).
      const freezeMs = taken.frozenMs ?? Math.round(performance.now() - dumpStarted);
      const arriving = parseKeyValues(await standby.run(['protect-gen', this.directory(), String(generation)]));
      const free = Number(arriving.free_kib ?? 0) * 1024;
      if (taken.bytes > free) {
        throw new Error(`${to} has ${formatBytes(free)} free and checkpoint ${generation} of process ${pid} takes ${formatBytes(taken.bytes)}; free disk space on ${to}: the previous checkpoint stays the newest.`);
      }
      const moved: ByteCounter = { bytes: 0 };
      const codes = await pipeCommands(source.spawn(['tar-out', sourceDir]), standby.spawn(['tar-in', arriving.dir]), moved);
      if (codes.producer !== 0 || codes.consumer !== 0) {
        throw new Error(`Copying checkpoint ${generation} from ${from} to ${to} failed (tar exit ${codes.producer}/${codes.consumer}); the previous checkpoint stays the newest.`);
      }
      if (!commit()) return undefined;
      const stored = parseKeyValues(await standby.run(['protect-commit', this.directory(), String(generation)]));
      return { freezeMs, bytes: moved.bytes, storedBytes: Number(stored.kib ?? 0) * 1024 };
    } finally {
      await source.run(['rmimages', sourceDir]).catch((e) => this.deps.log(`could not remove ${sourceDir} on ${from}: ${e}`));
    }
  }

  async probe(): Promise<ProbeAnswer> {
    const answer = parseKeyValues(await (await this.source()).run(['protect-probe', String(this.request.pid)]));
    const alive = answer.state === 'running' || answer.state === 'stopped';
    return alive && answer.start === this.startTime ? 'running' : 'gone';
  }

  async restore(generation: number): Promise<number> {
    if (!this.plan) throw new Error('The protection has not started.');
    const standby = await this.standby();
    const restored = await this.deps.checkpoint.restore(standby, `${this.directory()}/gen.${generation}`, this.plan);
    this.restoredSession = restored.terminalSession;
    const state = (await standby.run(['verify', String(restored.pid)])).trim();
    if (state !== 'running') {
      await this.killRestored(restored.pid).catch(() => undefined);
      throw new Error(`Process ${this.request.pid} was restored on ${this.request.standby} from checkpoint ${generation} but is ${state} there right after.`);
    }
    return restored.pid;
  }

  async signalOld(signal: 'STOP' | 'CONT' | 'KILL'): Promise<void> {
    await (await this.source()).run(['signal-tree', signal, String(this.request.pid)]);
  }

  async killRestored(pid: number): Promise<void> {
    const standby = await this.standby();
    await standby.run(['signal-tree', 'KILL', String(pid)]);
    await this.deps.checkpoint.discard?.(standby, { pid, terminalSession: this.restoredSession });
  }

  async end(): Promise<void> {
    if (!this.dir) return;
    await (await this.standby()).run(['protect-end', this.dir]);
    this.dir = undefined;
  }
}
