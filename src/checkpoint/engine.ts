// The checkpoint/restart interface: what the orchestration needs from an engine, in terms of
// the process's traits rather than an engine's flags. CRIU implements it (criu.ts); another
// engine would map the same traits to its own options.
import type { ChosenOption } from '../migration/api';
import type { ParsedCapabilities } from './capabilities';
import type { HostHelper } from './hostHelper';

/** What the preflight found about a process that the engine must handle. Each present trait
 * carries the reason in words (shown to the user next to the option it leads to). */
export interface ProcessTraits {
  /** The process belongs to a terminal session that is not part of the migrated tree. */
  shellJob?: string;
  /** It has established TCP connections, which cannot follow it to another host. */
  closeTcp?: string;
  /** It holds flock/POSIX/OFD locks. */
  fileLocks?: string;
  /** It has files open that were deleted. */
  unlinkedFiles?: string;
}

export interface CheckpointPlan {
  dump: ChosenOption[];
  restore: ChosenOption[];
}

/** A receiver of dumped memory on the destination (CRIU: a page server on its loopback). */
export interface PageReceiver {
  /** Port on the destination's loopback. */
  readonly port: number;
  /** Settles when the receiver has written all pages (or rejects if it failed). */
  readonly done: Promise<void>;
  /** Stops it early (rollback). Idempotent. */
  stop(): Promise<void>;
}

export interface CheckpointEngine {
  readonly name: string;
  /** Each problem that prevents this host from dumping or restoring, as one sentence. */
  hostProblems(caps: ParsedCapabilities): string[];
  plan(traits: ProcessTraits): CheckpointPlan;
  receivePages(helper: HostHelper, imagesDir: string): Promise<PageReceiver>;
  /** Dumps the tree rooted at `pid` and leaves it stopped (never killed). Memory goes to the
   * page receiver reachable at `pagesPort` on the source's loopback, the rest into `imagesDir`. */
  dump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesPort: number): Promise<void>;
  /** Restores from `imagesDir`, detached; resolves with the restored root's PID. */
  restore(helper: HostHelper, imagesDir: string, plan: CheckpointPlan): Promise<number>;
}

export type CheckpointFailureKind =
  | 'pid-taken'
  | 'file-missing'
  | 'file-changed'
  | 'disk-full'
  | 'terminal'
  | 'traced'
  | 'tcp'
  | 'unsupported'
  | 'other';

/** An engine failure: `message` is one sentence with what failed and what to do. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly kind: CheckpointFailureKind,
    readonly log: string[],
    /** The host where it failed. */
    readonly host?: string,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}
