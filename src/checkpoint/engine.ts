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

/** A long-running engine process that moves memory: a receiver of dumped pages on the
 * destination, the page source of a post-copy dump, or the lazy-pages daemon. */
export interface PageService {
  /** The port it listens on, or connects to, on its host's loopback. */
  readonly port: number;
  /** Settles when all pages have moved (rejects with a CheckpointError if it failed). */
  readonly done: Promise<void>;
  /** Stops it early (rollback). Idempotent. */
  stop(): Promise<void>;
}

export interface CheckpointEngine {
  readonly name: string;
  /** Each problem that prevents this host from dumping or restoring, as one sentence. */
  hostProblems(caps: ParsedCapabilities): string[];
  /** Why post-copy cannot run from `source` to `destination`, or undefined if it can. */
  postCopyProblem(source: ParsedCapabilities, destination: ParsedCapabilities): string | undefined;
  plan(traits: ProcessTraits): CheckpointPlan;

  // Stop-and-copy: memory streams to the destination while the dump runs.
  receivePages(helper: HostHelper, imagesDir: string): Promise<PageService>;
  /** Dumps the tree rooted at `pid` and leaves it stopped (never killed). Memory goes to the
   * page receiver reachable at `pagesPort` on the source's loopback, the rest into `imagesDir`. */
  dump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesPort: number): Promise<void>;

  // Post-copy: everything but memory moves first; pages follow on demand.
  /** Resolves once `imagesDir` holds all but memory; the service then serves the pages. */
  dumpLazily(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan): Promise<PageService>;
  /** Starts the destination's page-fault server, fed from `sourcePort` on its loopback. */
  fetchPagesLazily(helper: HostHelper, imagesDir: string, sourcePort: number): Promise<PageService>;

  /** Restores from `imagesDir`, detached; resolves with the restored root's PID. */
  restore(helper: HostHelper, imagesDir: string, plan: CheckpointPlan, options?: { lazy?: boolean }): Promise<number>;
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
