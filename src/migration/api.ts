// What the CLI and the extension see of the engine. Host-free: no vscode, no ssh2 here.
import type { CheckpointPlan, ChosenOption } from '../checkpoint/engine';
import type { HostCapabilities } from '../helper/capabilities';
import type { ProcessInfo } from '../helper/processList';
import type { HostOptions, RunningCommand } from '../transport/host';

// Produced by the layers below; part of what the CLI and the extension see.
export type { ChosenOption, HostCapabilities, ProcessInfo };

export interface HostReport {
  host: string;
  reachable: boolean;
  capabilities?: HostCapabilities;
  /** Each problem is one sentence saying what is wrong and what to do. */
  problems: string[];
  /** What makes migrations slower there, each one sentence with its fix; they still work. */
  notes?: string[];
}

export type Strategy = 'auto' | 'stop-and-copy' | 'pre-copy' | 'post-copy';

/** `pages` is post-copy's page transfer, while the process already runs on the destination;
 * `memory` is a stop-and-copy's into the copy held stopped there, which runs only after it;
 * `rounds` is pre-copy's copying of memory while it still runs on the source. */
export type PhaseName = 'preflight' | 'connect' | 'rounds' | 'freeze' | 'dump' | 'transfer' | 'restore' | 'memory' | 'verify' | 'pages' | 'cleanup';

export interface MigrationRequest {
  pid: number;
  from: string;
  to: string;
  strategy?: Strategy;
}

/** What the full preflight says of moving `pid` to `to`, touching nothing (no freeze). */
export interface Feasibility {
  host: string;
  feasible: boolean;
  /** Each a sentence: why the move cannot be done (empty when feasible). */
  problems: string[];
  /** The tree's RSS and its recent CPU use in cores (from the source), when the process was found. */
  rssKiB?: number;
  cpuCores?: number;
}

/** A host's measured state, cgroup-aware: on a container or VM under limits the limits count,
 * not the parent machine's /proc/meminfo. */
export interface HostState {
  host: string;
  /** When it was measured (ms since the epoch). */
  measuredAt: number;
  /** Set when the last probe failed or is too old: why, in words. */
  stale?: string;
  /** Cores this host may use: its cgroup's CPU quota when it has one, else its online CPUs. */
  cpus: number;
  /** The machine's 1- and 5-minute load per online CPU (/proc/loadavg). */
  load1PerCore: number;
  load5PerCore: number;
  /** Cores in use by the host's cgroup, as a rate between two probes (undefined on the first). */
  busyCores?: number;
  /** CPU pressure: PSI `some avg10`, percent, where the kernel has it. */
  cpuPressure?: number;
  /** The cgroup's memory limit minus its use, or MemAvailable when lower or without a limit. */
  memAvailableKiB: number;
  /** The cgroup's memory limit, when it has one. */
  memLimitKiB?: number;
  /** Free disk where checkpoint images are kept. */
  diskAvailableKiB: number;
  criuVersion?: string;
  arch?: string;
  /** The kernel's boot ID: hosts that share it run on one machine's cores. */
  bootId?: string;
  /** A bare round trip from this machine to the host's helper. */
  rttMs?: number;
  /** The port its sshd answered this machine on, where other hosts reach it too (link RTT). */
  sshPort?: number;
  /** The raw reading the next probe turns into `busyCores`. */
  cpuTime?: { usageUsec: number; uptimeS: number };
  /** Its links to other hosts, where known: the round trip host to host (measured when
   * placement weighed the pair) and the speed learned from moves from this host to that one. */
  links?: HostLink[];
}

export interface HostLink {
  host: string;
  rttMs?: number;
  mibps?: number;
}

/** One host considered by the placement. */
export interface PlacementCandidate {
  host: string;
  feasible: boolean;
  /** Headroom in multiples of the process: min(idle cores / its CPU use, available memory / its
   * RSS). Undefined when not feasible. */
  score?: number;
  /** Why it was chosen, or passed over, in one sentence. */
  reason: string;
  /** The round trip between the source and it, host to host, in ms, when measured. */
  linkRttMs?: number;
}

/** Where `--to auto` (Migrate to Best Host) sends a process, and why. */
export interface Placement {
  /** The chosen host; undefined when no host is feasible. */
  host?: string;
  reason: string;
  candidates: PlacementCandidate[];
}

export interface MigrationResult {
  ok: boolean;
  from: string;
  to: string;
  sourcePid: number;
  destinationPid?: number;
  strategy: Exclude<Strategy, 'auto'>;
  /** Why this strategy was chosen. */
  strategyReason: string;
  /** Phase name → milliseconds. */
  phases: Partial<Record<PhaseName, number>>;
  /** From freezing the source until the process runs on the destination. */
  freezeMs: number;
  totalMs: number;
  /** Bytes of checkpoint data moved between the hosts. */
  bytes: number;
  options: ChosenOption[];
  /** How the memory travelled: direct host to host over OpenSSH, or relayed through this
   * machine and why. */
  transfer?: string;
  startedAt: string;
  /** `--to auto`: how the destination was chosen. */
  placement?: Placement;
  /** Who asked for the move: the user, a policy (its rule's name), an evacuation, a failover. */
  trigger?: string;
  /** On failure: one sentence saying what failed and what to do. */
  error?: string;
  /** On failure: true when the source was left running and the destination cleaned. */
  rolledBack?: boolean;
  /** CRIU's log lines that explain a failure, per side. */
  logs?: { source?: string; destination?: string };
  /** A process that ran on a terminal runs on the destination inside a tmux session: run
   * `attach` on `host` with a pty (`ssh -t HOST …`) to reach its terminal. */
  terminal?: TerminalRef;
  /** TCP ports the tree listens on (they listen on the destination's loopback afterwards). */
  listeningPorts?: number[];
  /** Established TCP connections closed by the move (`local→remote`). */
  closedConnections?: string[];
  /** Pre-copy: each round of copying memory while the process ran, then the final dump's
   * (`final`, while frozen: only what changed since the last round). */
  rounds?: CopyRound[];
  /** Pre-copy: why the rounds stopped, in words. */
  roundsStopped?: string;
}

/** One pre-copy round: the memory it sent and how long it took. */
export interface CopyRound {
  round: number;
  pages: number;
  bytes: number;
  ms: number;
  /** The final dump, while frozen. */
  final?: boolean;
}

/** Where a terminal process's terminal is after the move: `attach`, run on `host` with a pty. */
export interface TerminalRef {
  host: string;
  /** The tmux session there (`procmig-…`). */
  session: string;
  attach: string[];
}

/** Forwards `origin`'s 127.0.0.1:PORT to the destination's 127.0.0.1:PORT for each port, until
 * disposed; see `Engine.forwardPorts`. */
export interface PortForwarding {
  origin: string;
  destination: string;
  /** Ports forwarded. */
  ports: number[];
  /** Ports that could not be bound on the origin, each with one sentence why. */
  failed: { port: number; error: string }[];
  /** Connections forwarded so far. */
  readonly connections: number;
  dispose(): Promise<void>;
}

export interface MigrationProgress {
  phase: PhaseName;
  message: string;
}

export interface MigrateOptions {
  onProgress?: (progress: MigrationProgress) => void;
  /** Awaited right before the freeze: lets a batch prepare all its processes first and limit
   * how many are frozen at once. */
  beforeFreeze?: () => Promise<void>;
  /** Called once the process is no longer frozen: running on the destination, or rolled back. */
  afterThaw?: () => void;
  /** Aborting before the destination runs the process rolls back; the source keeps running. */
  signal?: AbortSignal;
  /** Asked in the preflight, before anything is frozen, when a ptrace tracer (gdb, strace)
   * outside the tree holds the process, which CRIU cannot checkpoint: true has the tracer
   * stopped (the process is detached and runs on) and the migration goes on; otherwise the
   * preflight stops it, naming the tracer. */
  onTraced?: (traced: TracedProcess) => Promise<boolean>;
}

/** A process of the tree to migrate that a tracer holds. */
export interface TracedProcess {
  host: string;
  pid: number;
  name: string;
  tracerPid: number;
  tracerName: string;
}

export type ProcessState = 'running' | 'stopped' | 'zombie' | 'gone';

/** Several processes (or trees) moved in one request: all prepared, then frozen a few at a time
 * (trees linked by connections together), each succeeding or rolling back on its own. */
export interface BatchRequest {
  pids: number[];
  from: string;
  to: string;
  strategy?: Strategy;
}

export interface BatchResult {
  /** True only if every process runs on the destination. */
  ok: boolean;
  from: string;
  to: string;
  /** The longest freeze of any of them. */
  freezeMs: number;
  totalMs: number;
  bytes: number;
  /** One result per migrated tree (a PID inside another requested tree moves with it). */
  processes: MigrationResult[];
  /** How many were frozen at a time, and why (measured on both hosts; freezeSlots.ts). Absent
   * for one tree, or trees linked by connections, which freeze together. */
  freezeSlots?: { count: number; reason: string };
  /** When not ok: one sentence per failed process, joined. */
  error?: string;
}

/** A command to start migration-ready on a host (`procmig run`): under a seccomp filter that
 * makes io_uring_setup fail, so programs that use io_uring when they can (Node.js 22+) fall back
 * to what CRIU can checkpoint. */
export interface RunRequest {
  host: string;
  /** argv: the program (a name looked up in the host's PATH, or a path) and its arguments. */
  command: string[];
  /** In a new detached tmux session there, to attach to later; else detached, output to a log. */
  tmux?: boolean;
  /** Working directory there (default: the login directory; this one's for `local`). */
  cwd?: string;
}

export interface RunResult {
  ok: boolean;
  host: string;
  command: string[];
  pid?: number;
  /** Detached: the private file (0600) its output is appended to, on `host`. */
  log?: string;
  /** `tmux`: its session and the argv that attaches to it there. */
  terminal?: TerminalRef;
  /** On failure: one sentence saying what failed and what to do. */
  error?: string;
}

export interface Engine {
  listProcesses(host: string): Promise<ProcessInfo[]>;
  checkHost(host: string): Promise<HostReport>;
  /** Installs on `host` what it lacks (CRIU 4.2+, tmux, CRIU's unprivileged mode for the user),
   * as root, once; resolves with each step's line and the host's report afterwards. */
  setUpHost(host: string, options?: SetUpOptions): Promise<{ steps: string[]; report: HostReport }>;
  migrate(request: MigrationRequest, options?: MigrateOptions): Promise<MigrationResult>;
  /** Early event request: readies the way a migration from `from` to `to` takes (image
   * directories, the one-time sshd and page tunnel) before it is asked for, as the user looks
   * at that destination; the next `migrate` between them takes it, and it goes unused after a
   * minute. Optional: engines without hosts of their own leave it out. */
  prepareRoute?(from: string, to: string): void;
  /** The full preflight of `request` (CRIU, architecture, CPU features, files, memory), touching
   * nothing: what placement asks of each candidate host. */
  checkFeasible(request: MigrationRequest, options?: Pick<MigrateOptions, 'signal'>): Promise<Feasibility>;
  /** Measures `host` now (one helper call; `previous` turns CPU time into a rate). */
  measureHost(host: string, previous?: HostState): Promise<HostState>;
  /** The round trip in ms from `from` to `to`, host to host: a TCP connect from `from` to
   * `to`'s sshd (at `port`, what `to`'s state measured, else 22). Optional: engines without
   * hosts of their own leave it out. */
  measureLink?(from: string, to: string, port?: number): Promise<number>;
  migrateMany(request: BatchRequest, options?: MigrateOptions): Promise<BatchResult>;
  /** Keeps `origin`'s loopback ports reaching a migrated process on `destination` (optional:
   * engines without a transport of their own leave it out). */
  forwardPorts?(origin: string, destination: string, ports: number[]): Promise<PortForwarding>;
  /** Reaches the terminal of a process `migrate` restored in a tmux session (`result.terminal`)
   * on a remote host: runs the attach there on a pty of `size`. The command ends with the
   * process's exit code once the process ends. */
  attachTerminal?(terminal: TerminalRef, size: { rows: number; cols: number }): Promise<RunningCommand>;
  /** Tells `listener` when a host's connection drops, and when one opens again (optional:
   * engines without connections of their own leave it out). Returns the unsubscribe. */
  onConnectionChange?(listener: (change: ConnectionChange) => void): () => void;
  /** Starts a command migration-ready on a host (optional: engines without hosts of their own
   * leave it out). */
  run?(request: RunRequest): Promise<RunResult>;
  /** The ptrace tracer (gdb, strace) of a thread of `pid` on `host`, if any. */
  tracerOf(host: string, pid: number): Promise<TracedProcess | undefined>;
  /** Stops `traced`'s tracer: the process is detached and runs on (continued if left stopped). */
  stopTracer(traced: TracedProcess): Promise<void>;
  processState(host: string, pid: number): Promise<ProcessState>;
  /** Checkpoints for a standby host, and the failover from them (optional: engines without
   * hosts of their own have none). */
  protection?: Protection;
  /** The process listening on TCP `port` on `host`, if any. */
  listenerOf(host: string, port: number): Promise<number | undefined>;
  /** Those of `pids` on `host` started from a login (SSH, a desktop session, an editor's
   * terminal) rather than by init as a system service. */
  fromLogin(host: string, pids: readonly number[]): Promise<number[]>;
  dispose(): Promise<void>;
}

/** `connected: false`: the SSH connection to `host` dropped, `reason` the transport's error if
 * any; the next call on that host reconnects. `connected: true`: a connection opened. */
export interface ConnectionChange {
  host: string;
  connected: boolean;
  reason?: string;
}

export type EngineOptions = HostOptions;

export interface SetUpOptions {
  /** Connected as root: the user to let run CRIU in its unprivileged mode. */
  user?: string;
  onStep?: (step: string) => void;
}

/** A complete checkpoint of a process kept on a standby host, for a failover. */
export interface StandbyCheckpoint {
  pid: number;
  from: string;
  standby: string;
  /** Its private (0700) image directory on the standby. */
  dir: string;
  /** When the dump ended (ms since the epoch): what a failover to it loses is the work since. */
  takenAt: number;
  /** How long the process was frozen for it. */
  freezeMs: number;
  totalMs: number;
  /** Bytes that crossed to the standby. */
  bytes: number;
  /** How the images travelled: direct host to host over OpenSSH, or relayed through this
   * machine and why. */
  transfer?: string;
  /** The options the checkpoint used, and why. */
  options: ChosenOption[];
  /** The restore's plan. */
  plan: CheckpointPlan;
  /** The tree's files on tmpfs, kept in the checkpoint and put in place only by its restore. */
  tmpfs?: string[];
}

/** One checkpoint attempt: the checkpoint, or the sentence why there is none (the process runs
 * on untouched either way). */
export type StandbyCheckpointResult = { ok: true; checkpoint: StandbyCheckpoint } | { ok: false; error: string };

export interface Protection {
  /** Checkpoints `request.pid` on `request.from` into a new directory on `request.to`; the
   * process runs on. */
  checkpoint(request: MigrationRequest, options?: MigrateOptions): Promise<StandbyCheckpointResult>;
  /** Why `request.to` cannot keep checkpoints of the tree (its disk cannot hold two of them, the
   * newest and the one being taken, nor the source's disk the dump), or undefined. */
  roomProblem(request: MigrationRequest): Promise<string | undefined>;
  /** Restores `checkpoint` on its standby; resolves with the PID once it runs there. */
  restore(checkpoint: StandbyCheckpoint): Promise<{ pid: number }>;
  /** Deletes `checkpoint`'s images (they hold the process's memory). */
  discard(checkpoint: StandbyCheckpoint): Promise<void>;
  /** The host's boot, and when `pid` started in it (or `gone`): with the PID, which process it
   * is. Rejects when the host does not answer. */
  started(host: string, pid: number): Promise<{ boot: string; start: string }>;
  /** Sends `signal` to the tree of `pid` on `host` (STOP: the old copy, back after a failover). */
  signal(host: string, pid: number, signal: 'STOP' | 'CONT' | 'KILL'): Promise<void>;
}
