// The checkpoint/restart interface: what the orchestration needs from an engine, in terms of
// the process's traits rather than an engine's flags. CRIU implements it (criu.ts); another
// engine would map the same traits to its own options.
import type { ParsedCapabilities } from '../helper/capabilities';
import type { HostHelper } from '../helper/hostHelper';

/** A CRIU option the engine chose, and why (shown in the report). */
export interface ChosenOption {
  option: string;
  reason: string;
}

/** What the preflight found about a process that the engine must handle. Each present trait
 * carries the reason in words (shown to the user next to the option it leads to). */
export interface ProcessTraits {
  /** The process belongs to a terminal session that is not part of the migrated tree. */
  shellJob?: string;
  /** It has established TCP connections, which cannot follow it to another host. */
  closeTcp?: string;
  /** Its established TCP connections all link processes that move together over the loopback:
   * both ends are restored on the destination. */
  keepTcp?: string;
  /** It holds flock/POSIX/OFD locks. */
  fileLocks?: string;
  /** It has files open that were deleted. */
  unlinkedFiles?: string;
  /** It runs on a terminal: on the destination it gets one of its own (a tmux session's). */
  terminal?: string;
  /** Descriptors given another file on the destination (CRIU's --inherit-fd). */
  substitutes?: FileSubstitute[];
  /** CRIU dumps (source) or restores (destination) as the user, in its unprivileged mode. */
  unprivilegedDump?: string;
  unprivilegedRestore?: string;
  /** Its datagram unix sockets send to receivers that stay: connected again to the same path
   * on the destination. */
  datagramPeers?: string;
  /** It holds deleted files larger than the engine carries by default: up to `bytes` each. */
  ghostLimit?: { bytes: number; reason: string };
  /** FIFOs and symlinks it holds that the destination lacks: made there before the restore. */
  nodes?: FsNodeToMake[];
}

/** A name with no data (a FIFO, a symlink) made on the destination as it is on the source. */
export interface FsNodeToMake {
  kind: 'fifo' | 'symlink';
  path: string;
  /** `uid:gid`. */
  owner: string;
  /** A FIFO's octal permission bits. */
  mode?: string;
  /** What a symlink points to. */
  linkTarget?: string;
  reason: string;
}

/** One open file of the dumped process replaced on restore by a file on the destination. */
export interface FileSubstitute {
  /** The engine's name for the dumped file: a path without its leading `/`, `pipe:[INODE]`, or
   * `socket:[INODE]`. */
  resource: string;
  /** The destination file opened in its place: for writing (created if missing, appended to),
   * or for reading (the read end of a pipe fed from outside the tree); for `socket`, none: a
   * socket whose peer has closed (a connection to a process that stays is cut). */
  path: string;
  mode: 'append' | 'read' | 'socket';
  /** Shown next to the option. */
  reason: string;
}

export interface CheckpointPlan {
  dump: ChosenOption[];
  restore: ChosenOption[];
  /** Restore in the foreground inside a new tmux session named this (terminal processes). */
  terminalSession?: string;
  /** Files opened on the destination as descriptor `fd` of the restoring engine. */
  inherit?: { fd: number; path: string; mode: FileSubstitute['mode'] }[];
  /** Made on the destination just before the restore (removed again if it fails). */
  nodes?: FsNodeToMake[];
}

/** Pre-copy's rounds live in sibling directories; each names the one before. */
export interface RoundOptions {
  /** The previous round's directory: a sibling's name, not a path. */
  parent?: string;
}

/** A dump's options: pre-copy's round before, or a checkpoint for a standby. */
export interface DumpOptions extends RoundOptions {
  /** The process runs on after the dump (--leave-running): a checkpoint, not a move. */
  leaveRunning?: boolean;
}

/** What a restore started on the destination. */
export interface RestoredProcess {
  pid: number;
  /** The tmux session holding its terminal, for a terminal process. */
  terminalSession?: string;
  /** Set when a PID of the tree was in use on the destination, so the tree was restored into a
   * new PID namespace: `takenPid` is the PID in use, `pidInside` the root's PID in there (its
   * original one); `pid` is then the PID the host sees. */
  newPidNamespace?: { takenPid: number; pidInside: number };
  /** How a terminal process was given its tmux pane's terminal, chosen on the destination from
   * what the dump found: for the report. */
  terminalOption?: ChosenOption;
}

/** What the engine reports of one memory dump: pre-copy's stop policy works from it. */
export interface DumpStats {
  /** Pages sent to the destination. */
  pagesWritten: number;
  /** Pages looked at. */
  pagesScanned: number;
  /** Pages unchanged since the previous round, left to it. */
  pagesSkipped: number;
  /** Bytes per page on the dumping host. */
  pageSize: number;
}

/** A long-running engine process that moves memory: a receiver of dumped pages on the
 * destination, the page source of a post-copy dump, or the lazy-pages daemon. Pages travel over
 * one connection to a unix socket in a private image directory: no TCP port, which any local
 * user could reach. */
export interface PageService {
  /** Settles when all pages have moved (rejects with a CheckpointError if it failed). */
  readonly done: Promise<void>;
  /** Stops it early (rollback). Idempotent. */
  stop(): Promise<void>;
}

/** Post-copy's page-fault server on the destination before it runs: it holds the connection
 * from the source's page server, made to its socket after the freeze, until `start()`. */
export interface LazyPageFetcher extends PageService {
  /** Runs the daemon on that connection, once the images are in; resolves when it serves. */
  start(): Promise<void>;
}

export interface CheckpointEngine {
  readonly name: string;
  /** Each problem that prevents this host from dumping or restoring, as one sentence. */
  hostProblems(caps: ParsedCapabilities): string[];
  /** What makes migrations slower on a host, each one sentence with its fix (they still work). */
  hostNotes?(caps: ParsedCapabilities): string[];
  /** Kinds of anonymous-inode descriptors it can checkpoint (`eventfd`, `inotify`, …; see
   * `anonInodes`): a process holding any other kind cannot move. */
  readonly anonInodeKinds: readonly string[];
  /** Why post-copy cannot run from `source` to `destination`, or undefined if it can. */
  postCopyProblem(source: ParsedCapabilities, destination: ParsedCapabilities): string | undefined;
  /** `name` names what the destination may create for the process (its terminal session). */
  plan(traits: ProcessTraits, name?: string): CheckpointPlan;

  // Stop-and-copy: memory streams to the destination while the dump runs.
  /** Receives one dump's pages into `imagesDir` from the one connection made to the unix
   * socket `socket`; resolves once that listens. Pre-copy: `parent` names the sibling directory
   * of the round before (its pages stay there, linked); every round listens at the same socket
   * (the tunnel's, which outlives the rounds). */
  receivePages(helper: HostHelper, imagesDir: string, socket: string, options?: RoundOptions): Promise<PageService>;
  /** Dumps the tree rooted at `pid` and leaves it stopped (never killed), or running. Memory goes to the
   * page receiver reached through the unix socket `pagesSocket` on the source (without one, into
   * `imagesDir` too), the rest into `imagesDir`. Pre-copy's final dump has a `parent` round: only
   * what changed since goes. */
  dump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesSocket: string | undefined, options?: DumpOptions): Promise<DumpStats | void>;
  /** The option that `leaveRunning` puts in place of leaving the source stopped, with why. */
  leaveRunningOption?(): ChosenOption;

  // Pre-copy: memory is copied in rounds while the process runs, each round only what changed
  // since the one before, and the freeze moves the rest (`dump` with the last round as parent).
  /** Why pre-copy cannot run from `source` to `destination`, or undefined if it can; `requested`
   * when the user asked for it rather than auto choosing it. */
  preCopyProblem(source: ParsedCapabilities, destination: ParsedCapabilities, requested: boolean): string | undefined;
  /** One round: copies the tree's memory to the page receiver reached through `pagesSocket`
   * while the tree runs on (it is paused only to collect the changed pages). Rejects when it
   * cannot say how many pages it copied: the rounds stop on those counts. */
  preDump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesSocket: string, options?: RoundOptions): Promise<DumpStats>;
  /** The options pre-copy adds to the plan's, with why, for the report. */
  preCopyOptions(): ChosenOption[];

  // Post-copy: everything but memory moves first; pages follow on demand.
  /** Resolves once `imagesDir` holds all but memory; the service then serves the pages over
   * the connection it made through the unix socket `pagesSocket` (to the LazyPageFetcher). */
  dumpLazily(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesSocket: string): Promise<PageService>;
  /** The destination's page-fault server, listening at the unix socket `socket` for the
   * source's page server (before the freeze); it runs once `start()`ed. */
  fetchPagesLazily(helper: HostHelper, imagesDir: string, socket: string): Promise<LazyPageFetcher>;

  /** Restores from `imagesDir` so that it outlives the connection (detached, or inside a tmux
   * session for a terminal process); resolves with the restored root's PID. `lazy`: its memory
   * comes from a lazy-pages daemon; `leaveStopped`: the tree stays stopped, to be resumed. */
  restore(helper: HostHelper, imagesDir: string, plan: CheckpointPlan, options?: { lazy?: boolean; leaveStopped?: boolean }): Promise<RestoredProcess>;
  /** Ends what a restore left besides the process (its tmux session); for rollback. */
  discard?(helper: HostHelper, restored: RestoredProcess): Promise<void>;
}

export type CheckpointFailureKind =
  | 'pid-taken'
  | 'file-missing'
  | 'file-size'
  | 'file-mode'
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
