// What a strategy may do to a migration, each step with its contract (as go-criu phaul's `Local`
// spells out its own). The session keeps everything else: the rollback's order, the hosts'
// guards, the timeline, the result.
import type { CheckpointEngine, CheckpointPlan, ChosenOption, RestoredProcess } from '../../checkpoint/engine';
import type { HostHelper } from '../../helper/hostHelper';
import type { MigrationResult, PhaseName } from '../api';
import type { ImageRoute } from '../imageRoute';
import type { StrategyChoice } from '../strategy';

export interface StrategyContext {
  readonly pid: number;
  readonly from: string;
  readonly to: string;
  readonly source: HostHelper;
  readonly destination: HostHelper;
  readonly checkpoint: CheckpointEngine;
  readonly plan: CheckpointPlan;
  /** Auto's pre-copy only: what runs instead should its rounds not catch up. */
  readonly fallback?: StrategyChoice;
  /** The tree was stopped before the migration (job control): it stays as it was. */
  readonly stoppedBefore: boolean;
  /** Stop-and-copy only: set when its memory goes straight into the restored process (the
   * option and why), unset when it goes through image files. */
  readonly memoryIntoProcess?: ChosenOption;
  /** Image directories, the page tunnel and the images' copy; all it makes is undone on failure. */
  readonly images: Pick<ImageRoute, 'prepare' | 'directory' | 'openCopy' | 'checkpointRoute' | 'sendRemainingImages' | 'carriedPaths' | 'removeMemory'>;
  /** What the strategy adds to the report. */
  readonly report: Pick<MigrationResult, 'rounds' | 'roundsStopped' | 'options'>;

  progress(phase: PhaseName, message: string): void;
  /** Runs `work` as the timed phase `name`. */
  phase<T>(name: PhaseName, work: () => Promise<T>): Promise<T>;
  /** Throws once the user cancelled: call it between steps. */
  checkCancelled(): void;
  /** Registers `undo`, run (newest first) should the migration fail before its commit. */
  onRollback(what: string, undo: () => Promise<unknown>): void;
  /** Resumes the source tree; for a step that may leave it stopped on failure. */
  resumeSource(): Promise<void>;

  /** Call right before the dump: the source tree is frozen from here until verify() resolves.
   * Any error from here to the commit resumes it; it is never killed before the commit. */
  freeze(): Promise<void>;
  /** The restore left its copy stopped, its memory still on the way: from here an error stops
   * that copy too, and verify() resumes it. */
  hold(restored: RestoredProcess): void;
  /** The restored copy must run on the destination; resolves once it does, and the process
   * counts as thawed. An error before the commit stops that copy and resumes the source (as it
   * was when frozen: what the copy did meanwhile is lost). */
  verify(restored: RestoredProcess): Promise<void>;
  /** A standby's checkpoint (protect): the dump left the tree running, so the freeze ends here. */
  ranOn(): void;
  /** A standby's checkpoint: its point of no return. The images stay in `dir` on the destination
   * for a failover, and the rest the migration made goes; the process runs on at the source. */
  keep(dir: string): Promise<void>;
  /** The point of no return: kills the source tree and removes the images. Resolved, the
   * process runs on the destination alone; rejected before the kill, the migration rolls back. */
  commit(): Promise<void>;
}

/** A strategy's answer when, before any freeze, another strategy should run instead: the
 * session undoes what this one set up and runs `instead`. */
export interface StrategySwitch {
  instead: StrategyChoice;
  why: string;
}

/** Moves the process to the destination and commits. Resolves with nothing once it runs there
 * alone, or with a switch (nothing frozen yet); rejects: the session rolls back, the source runs. */
export type StrategyRun = (context: StrategyContext) => Promise<StrategySwitch | void>;
