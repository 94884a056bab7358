// Preflight: everything that can be known before the process is touched. Pure functions over
// what the helpers reported, so every rule is unit-tested without hosts.
import type { ParsedCapabilities } from '../helper/capabilities';
import { formatBytes, formatKiB } from '../common/format';
import { cpuShortfall } from '../helper/cpuFeatures';
import type { CheckpointEngine, FileSubstitute, ProcessTraits } from '../checkpoint/engine';
import { PF_KTHREAD, TCP_ESTABLISHED, anonInodes, mountOf, socketInodes, type InetSocket, type ProcessInspection, type TaskInfo } from '../helper/inspection';
import { KERNEL_MADE, ghostFiles, ghostLimit, kindProblems, ownPtys, ptyIndexOfTtyNr } from './preflightKinds';
import { commandLine } from './run';

export interface PreflightInput {
  from: string;
  to: string;
  pid: number;
  source: ParsedCapabilities;
  destination: ParsedCapabilities;
  engine: CheckpointEngine;
  inspection: ProcessInspection;
  /** Socket inodes of the other trees moving in the same batch. */
  companions?: ReadonlySet<number>;
}

export interface PreflightResult {
  /** Each one sentence with the fix; any problem stops the migration before the freeze. */
  problems: string[];
  traits: ProcessTraits;
}

const O_APPEND = 0o2000;
const O_PATH = 0o10000000;
/** O_DIRECTORY: 0o200000 on x86, 0o40000 on arm, arm64 and powerpc (where the other bit is
 * O_DIRECT). Either skips the size comparison: CRIU compares sizes of regular files only, and a
 * direct-I/O file left out here is still checked by CRIU itself. */
const O_DIRECTORY_ANY = 0o200000 | 0o40000;


/** Rules about the process and the two hosts, before any file is compared. */
export function checkProcessAndHosts(input: PreflightInput): PreflightResult {
  const { from, to, pid, source, destination, inspection } = input;
  const problems: string[] = [];

  if (!inspection.exists || inspection.tasks.length === 0) {
    return { problems: [`Process ${pid} does not exist on ${from}; list processes with \`procmig ps --host ${from}\`.`], traits: {} };
  }
  const root = inspection.tasks[0];
  if (pid === 1) problems.push(`Process 1 is the init process of ${from}; it cannot be migrated.`);
  else if (root.flags & PF_KTHREAD || root.ppid === 2 || pid === 2) {
    problems.push(`Process ${pid} on ${from} is a kernel thread (${root.comm}); only user processes can be migrated.`);
  }
  if (problems.length) return { problems, traits: {} };

  const traced = tracedTask(inspection);
  if (traced) {
    const name = inspection.tracers[traced.tracerPid];
    const inTree = inspection.tasks.some((t) => t.pid === traced.tracerPid);
    const who = name ? `${name} (PID ${traced.tracerPid}${inTree ? ', in the same tree' : ''})` : `PID ${traced.tracerPid} (a debugger or strace)`;
    const fix = inTree ? `run the program without ${name ?? 'it'} to migrate it` : name ? `detach ${name} or stop it, and retry` : 'detach it and retry';
    problems.push(`Process ${traced.pid} (${traced.comm}) on ${from} is traced by ${who}, and CRIU cannot checkpoint a traced process; ${fix}.`);
  }
  const unprivileged = source.privilege === 'unprivileged';
  problems.push(...anonInodeProblems(inspection, input.engine, from, unprivileged));
  const filtered = inspection.tasks.find((t) => t.seccomp === 2);
  if (filtered && unprivileged) {
    // Dumping a filtered task suspends its filter (PTRACE_O_SUSPEND_SECCOMP): CAP_SYS_ADMIN.
    problems.push(
      `Process ${filtered.pid} (${filtered.comm}) on ${from} runs under a seccomp filter (started migration-ready, or sandboxed), which CRIU in its unprivileged mode cannot checkpoint (that takes CAP_SYS_ADMIN); migrate it as root.`,
    );
  }
  problems.push(...kindProblems(inspection, from));
  if (inspection.selfUid !== 0) {
    const foreign = inspection.tasks.find((t) => t.uid !== inspection.selfUid);
    if (foreign) {
      problems.push(
        `Process ${foreign.pid} on ${from} belongs to uid ${foreign.uid}, not to you (uid ${inspection.selfUid}); migrate it as its owner or as root.`,
      );
    }
  }
  // CRIU restores a process under its own uid, which only root (or sudo) may give another user's.
  if (destination.privilege === 'unprivileged' && destination.uid !== undefined) {
    const other = inspection.tasks.find((t) => t.uid !== destination.uid);
    if (other) {
      problems.push(
        `Process ${other.pid} on ${from} belongs to uid ${other.uid}, but ${to} is reached as ${destination.user ?? 'another user'} (uid ${destination.uid}), who cannot restore another user's process; pick a destination reached as its owner or as root.`,
      );
    }
  }
  const foreignNs = inspection.tasks.find((t) => ['pid', 'mnt', 'net'].some((ns) => t.ns[ns] && inspection.hostNs[ns] && t.ns[ns] !== inspection.hostNs[ns]));
  if (foreignNs) {
    problems.push(
      `Process ${foreignNs.pid} on ${from} runs in namespaces of its own (a container?); Process Migrator moves processes of the host's own namespaces only.`,
    );
  }

  problems.push(...input.engine.hostProblems(source), ...input.engine.hostProblems(destination));
  if (source.arch && destination.arch && source.arch !== destination.arch) {
    problems.push(`${from} is ${source.arch} and ${to} is ${destination.arch}: a process can only move between machines of the same architecture.`);
  } else {
    problems.push(...cpuProblems(source, destination));
  }

  const rssKiB = treeRssKiB(inspection);
  if (rssKiB && destination.diskAvailableKiB && destination.diskAvailableKiB < rssKiB * 1.1 + 64 * 1024) {
    problems.push(
      `${to} has ${formatKiB(destination.diskAvailableKiB)} free in ${destination.imagesDir} but the checkpoint needs about ${formatKiB(rssKiB)}; free some space there.`,
    );
  }
  if (rssKiB && destination.memAvailableKiB && destination.memAvailableKiB < rssKiB + 32 * 1024) {
    problems.push(
      `${to} has ${formatKiB(destination.memAvailableKiB)} of memory available but the process uses ${formatKiB(rssKiB)}; free memory there or pick another host.`,
    );
  }

  if (source.privilege === 'sudo' && source.sudoRlimits === false) {
    problems.push(
      `Root on ${from} lacks CAP_SYS_RESOURCE, so CRIU run through sudo cannot read the limits of your processes there ("Can't get rlimit"); run \`procmig setup ${from}\` to let CRIU run as you in its unprivileged mode instead.`,
    );
  }

  const traits = { ...traitsOf(inspection, from, input.companions), ...unprivilegedTraits(input) };
  if (traits.unprivilegedDump || traits.unprivilegedRestore) keepNoConnections(traits);
  if (traits.terminal && !destination.tmux) {
    problems.push(
      `${to} has no tmux, which it needs to give the process a terminal of its own (it runs on a terminal on ${from}); install tmux on ${to} (e.g. \`apt-get install tmux\`) and retry.`,
    );
  }
  return { problems, traits };
}

/** Where CRIU runs as the user, in its unprivileged mode: the report says so. */
function unprivilegedTraits({ from, to, source, destination }: PreflightInput): ProcessTraits {
  const why = (caps: ParsedCapabilities, host: string, what: string) =>
    caps.privilege === 'unprivileged'
      ? `CRIU ${what} on ${host} as ${caps.user ?? 'you'}, without root: in its unprivileged mode (its copy with the capabilities for it), which checkpoints only your own processes`
      : undefined;
  const traits: ProcessTraits = {};
  const dump = why(source, from, 'dumps');
  const restore = why(destination, to, 'restores');
  if (dump) traits.unprivilegedDump = dump;
  if (restore) traits.unprivilegedRestore = restore;
  return traits;
}

/** Keeping a TCP connection takes TCP repair mode (CAP_NET_ADMIN) and a loopback lock (nft as
 * root), which CRIU's unprivileged mode has neither of: such connections are closed instead. */
function keepNoConnections(traits: ProcessTraits): void {
  if (!traits.keepTcp) return;
  traits.closeTcp = `${traits.keepTcp.replace(/: CRIU restores both ends.*$/, '')}, but CRIU in its unprivileged mode cannot keep connections (that takes TCP repair mode, CAP_NET_ADMIN): they are closed and the processes see a reset`;
  delete traits.keepTcp;
}

/** The destination's CPU must offer every instruction set the source's did: the process's
 * libraries picked theirs by CPUID when it started there, and never look again. */
export function cpuProblems(source: ParsedCapabilities, destination: ParsedCapabilities): string[] {
  const { missing, xsave } = cpuShortfall(source.cpu, destination.cpu, source.arch);
  const [from, to] = [source.host, destination.host];
  const problems: string[] = [];
  const fix = `move it to a host whose CPU has the same features, or start it anew on ${to}`;
  if (missing.length) {
    const list = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing[missing.length - 1]}` : missing[0];
    problems.push(
      `${to}'s CPU lacks ${list}, which ${from}'s has and the process may use (libraries choose instructions when it starts), so it could die of SIGILL there after the move; ${fix}.`,
    );
  }
  if (xsave) {
    problems.push(
      `${to}'s CPU saves ${xsave.destination} bytes of register state (xsave) where ${from}'s saves ${xsave.source}, so buffers the process sized on ${from} could overflow there after the move; ${fix}.`,
    );
  }
  return problems;
}

/** The first task of the tree that a ptrace tracer (gdb, strace) holds. */
export function tracedTask(inspection: ProcessInspection): TaskInfo | undefined {
  return inspection.tasks.find((t) => t.tracerPid !== 0);
}

/** Descriptors on anonymous inodes the engine cannot checkpoint, one sentence per kind. */
export function anonInodeProblems(inspection: ProcessInspection, engine: Pick<CheckpointEngine, 'anonInodeKinds'>, from: string, unprivileged = false): string[] {
  const problems: string[] = [];
  for (const [kind, fds] of anonInodes(inspection)) {
    if (engine.anonInodeKinds.includes(kind)) continue;
    const task = inspection.tasks.find((t) => t.pid === fds[0].pid);
    const who = `Process ${fds[0].pid}${task ? ` (${task.comm})` : ''} on ${from}`;
    const count = fds.length > 1 ? `${fds.length} ${kind} instances` : `${kind} (descriptor ${fds[0].fd})`;
    if (kind === 'io_uring') {
      // libuv 1.50+ (Node.js 22 and later) always opens io_uring, and UV_USE_IO_URING=0 no
      // longer turns that off; when io_uring_setup fails, it (like most users of io_uring)
      // falls back to epoll. That is what a migration-ready start does, for one program.
      const node = task !== undefined && isNode(task);
      const what = node ? `is Node.js, which holds ${count} that CRIU cannot checkpoint yet` : `uses ${count}, which CRIU cannot checkpoint yet`;
      const fallback = node ? 'Node.js uses epoll instead' : 'programs that can do without it fall back';
      // A migration-ready start cannot help where CRIU runs unprivileged (see the seccomp rule).
      const fix = unprivileged
        ? `as CRIU runs on ${from} (unprivileged) it cannot move it under the migration-ready filter either: migrate it as root, or restart it after \`sysctl kernel.io_uring_disabled=2\` on ${from} (as root; Linux 6.6+)`
        : restartMigrationReady(inspection, from, fallback);
      problems.push(`${who} ${what}; ${fix}.`);
    } else {
      problems.push(`${who} holds ${count}, a kind of descriptor CRIU cannot checkpoint; it can only be migrated once it has closed ${fds.length > 1 ? 'them' : 'it'}.`);
    }
  }
  return problems;
}

/** The advice for a program that holds io_uring: start it again without io_uring; the whole
 * program (the tree's root), as its children inherit the filter. */
function restartMigrationReady(inspection: ProcessInspection, from: string, fallback: string): string {
  const root = inspection.tasks[0];
  const command = root?.argv?.length ? commandLine(root.argv) : '<its command>';
  const cwd = root?.cwd ? ` --cwd ${commandLine([root.cwd])}` : '';
  return (
    `restart it migration-ready, where io_uring is unavailable and ${fallback}: in a Process Migrator terminal in VS Code, ` +
    `or with \`procmig run --host ${from}${cwd} -- ${command}\` (or, for every program on ${from}, after \`sysctl kernel.io_uring_disabled=2\`, Linux 6.6+)`
  );
}

function isNode(task: TaskInfo): boolean {
  return task.comm === 'node' || /(^|\/)node(js)?[0-9.]*$/.test(task.exe);
}

/** The helper opens one descriptor per substitute on the destination, as many as it can there. */
export function substitutesProblem(count: number, destination: ParsedCapabilities, from: string): string | undefined {
  const max = destination.inheritFdsMax;
  if (count <= max) return undefined;
  const to = destination.host;
  const why = max <= 6 ? `the 6 that ${to} can open without bash or perl (install either there)` : `the ${max} that ${to} can open at once`;
  return `The process has ${count} descriptors (files only on ${from}, pipes to processes that stay there) that must be given new files on ${to}, more than ${why}; close some or create the files on ${to}.`;
}

export function treeRssKiB(inspection: ProcessInspection): number {
  return inspection.tasks.reduce((sum, t) => sum + t.rssKiB, 0);
}

/** 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 as the inspection spells them. */
const LOOPBACK = /^(127\.|(0:){7}1$|(0:){5}ffff:7f)/;

/** Established TCP connections of the tree: `inside` when the other end is a socket of the
 * tree too (or of `companions`, the trees moving in the same batch), so both ends move;
 * `outside` when it is held by a process that stays, or by another host. */
export function tcpConnections(inspection: ProcessInspection, companions: ReadonlySet<number> = new Set()): { inside: InetSocket[]; outside: InetSocket[] } {
  const sockets = socketInodes(inspection);
  const moving = (inode: number) => sockets.has(inode) || companions.has(inode);
  const established = inspection.inet.filter((s) => s.proto.startsWith('tcp') && s.state === TCP_ESTABLISHED);
  const inside: InetSocket[] = [];
  const outside: InetSocket[] = [];
  for (const s of established.filter((e) => sockets.has(e.inode))) {
    const peer = established.find(
      (p) => p.localAddress === s.remoteAddress && p.localPort === s.remotePort && p.remoteAddress === s.localAddress && p.remotePort === s.localPort,
    );
    // Only loopback addresses exist on the destination too.
    (peer && moving(peer.inode) && LOOPBACK.test(s.localAddress) ? inside : outside).push(s);
  }
  return { inside, outside };
}

/** What the engine must be told about this process, with the reason for each. `companions`:
 * socket inodes of the other trees of a batch (they move at the same time). */
export function traitsOf(inspection: ProcessInspection, from: string, companions?: ReadonlySet<number>): ProcessTraits {
  const traits: ProcessTraits = {};
  const pids = new Set(inspection.tasks.map((t) => t.pid));
  const root = inspection.tasks[0];

  // A pty pair the tree opened itself (both ends held here) is recreated whole by CRIU.
  const own = ownPtys(inspection);
  const isOwn = (path: string) => own.has(Number(/^\/dev\/pts\/(\d+)$/.exec(path)?.[1] ?? -1));
  const ttys = [...new Set(inspection.fds.filter((f) => /^\/dev\/(pts\/\d+|tty\w*)$/.test(f.target) && !isOwn(f.target)).map((f) => f.target))];
  const sessionOutside = inspection.tasks.some((t) => !pids.has(t.sid) || !pids.has(t.pgid));
  const ctty = ptyIndexOfTtyNr(root.ttyNr);
  if (ttys.length || (root.ttyNr !== 0 && !(ctty !== undefined && own.has(ctty) && !sessionOutside))) {
    traits.shellJob = `it runs on the terminal ${ttys[0] ?? 'of its session'}, whose session belongs to a shell that stays on ${from}`;
    if (ttys.length) traits.terminal = `it runs on the terminal ${ttys[0]} of ${from}, which cannot move`;
  } else if (sessionOutside) {
    traits.shellJob = `its session or process group leader (${root.sid}) is a process outside the migrated tree`;
  }

  const { inside, outside } = tcpConnections(inspection, companions);
  const list = (conns: InetSocket[]) => conns.slice(0, 3).map((s) => `${s.localPort}→${s.remoteAddress}:${s.remotePort}`).join(', ');
  const count = (n: number) => `${n} established TCP connection${n > 1 ? 's' : ''}`;
  if (outside.length) {
    // CRIU 4.2 keeps all connections or closes all: one to a process that stays cannot be kept.
    const alsoInside = inside.length ? `; so are the ${inside.length} between processes that move (${list(inside)}), as CRIU keeps all of a process's connections or none` : '';
    traits.closeTcp = `${count(outside.length)} (${list(outside)}) cannot follow it to another host: they are closed and the process sees a reset${alsoInside}`;
  } else if (inside.length) {
    traits.keepTcp = `${count(inside.length)} (${list(inside)}) link${inside.length > 1 ? '' : 's'} processes that move together over the loopback: CRIU restores both ends on the destination's 127.0.0.1, so they stay connected`;
  }

  if (inspection.locks.length) {
    const kinds = [...new Set(inspection.locks.map((l) => l.kind))].join('/');
    traits.fileLocks = `it holds ${inspection.locks.length} ${kinds} file lock${inspection.locks.length > 1 ? 's' : ''}`;
  }

  const deleted = ghostFiles(inspection);
  if (deleted.length) {
    traits.unlinkedFiles = `it has ${deleted.length} deleted file${deleted.length > 1 ? 's' : ''} open (${deleted[0].path})`;
  }
  const ghost = ghostLimit(inspection);
  if (ghost) traits.ghostLimit = ghost;
  return traits;
}

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;

/** Pipes whose other end is held by a process outside the tree, which stays on the source. CRIU
 * would restore such a pipe with no peer: the writer dies of SIGPIPE on its next write. Its
 * output goes to a file in `filesDir` on the destination instead, and a reader reads end-of-file. */
export function externalPipes(inspection: ProcessInspection, to: string, filesDir: string): FileSubstitute[] {
  const ends = new Map<number, { pid: number; fd: number; write: boolean }[]>();
  for (const f of inspection.fds) {
    const m = /^pipe:\[(\d+)\]$/.exec(f.target);
    if (!m) continue;
    const ino = Number(m[1]);
    ends.set(ino, [...(ends.get(ino) ?? []), { pid: f.pid, fd: f.fd, write: (f.flags & O_ACCMODE) === O_WRONLY }]);
  }
  const out: FileSubstitute[] = [];
  for (const [ino, list] of ends) {
    const writers = list.filter((e) => e.write).length;
    if (writers && writers < list.length) continue; // both ends inside: CRIU restores it whole
    const first = list[0];
    const what = `descriptor ${first.fd} of process ${first.pid}`;
    if (writers) {
      const path = `${filesDir}/pipe-${inspection.pid}-${ino}.out`;
      out.push({
        resource: `pipe:[${ino}]`,
        path,
        mode: 'append',
        reason: `${what} writes into a pipe read by a process that stays behind: on ${to} that output goes to ${path}`,
      });
    } else {
      out.push({
        resource: `pipe:[${ino}]`,
        path: '/dev/null',
        mode: 'read',
        reason: `${what} reads from a pipe fed by a process that stays behind: on ${to} it reads end-of-file`,
      });
    }
  }
  return out;
}

/** Regular files the tree only writes to (write-only, or read-write for appending), by path:
 * those that do not exist on the destination can be recreated there, empty. */
export function outputOnlyFiles(inspection: ProcessInspection): Map<string, { pid: number; fd: number }[]> {
  const needed = new Set<string>();
  for (const t of inspection.tasks) needed.add(t.exe).add(t.cwd);
  for (const m of inspection.maps) needed.add(m.path);
  const out = new Map<string, { pid: number; fd: number }[]>();
  const readers = new Set<string>();
  for (const f of inspection.fds) {
    if (!f.target.startsWith('/') || /^\/(proc|sys|dev)\//.test(f.target) || f.target.endsWith(' (deleted)')) continue;
    const mode = f.flags & O_ACCMODE;
    const writesOnly = mode === O_WRONLY || (mode === O_RDWR && (f.flags & O_APPEND) !== 0);
    if (!writesOnly || (f.flags & O_DIRECTORY_ANY) !== 0) readers.add(f.target);
    else out.set(f.target, [...(out.get(f.target) ?? []), { pid: f.pid, fd: f.fd }]);
  }
  for (const path of [...out.keys()]) if (readers.has(path) || needed.has(path)) out.delete(path);
  return out;
}

/** Splits the destination's `check-files` answer: missing output-only files become substitutes
 * (placed per the helper's `places` answer), the rest stays for `fileProblems`. */
export function substituteMissingOutputs(
  checkOutput: string,
  outputs: Map<string, { pid: number; fd: number }[]>,
  placesOutput: string,
  to: string,
): { remaining: string; substitutes: FileSubstitute[] } {
  const filesDir = /^files_dir=(.+)$/m.exec(placesOutput)?.[1] ?? '';
  const sameDir = new Set(placesOutput.split('\n').filter((l) => l.endsWith('\tsame')).map((l) => l.slice(0, -5)));
  const substitutes: FileSubstitute[] = [];
  const remaining: string[] = [];
  for (const line of checkOutput.split('\n')) {
    const [path, status] = line.split('\t');
    const users = outputs.get(path);
    if (status !== 'missing' || !users || (!sameDir.has(path) && !filesDir)) {
      remaining.push(line);
      continue;
    }
    const place = sameDir.has(path) ? path : `${filesDir}${path}`;
    const where = place === path ? `a new file at the same path on ${to}` : `${place} on ${to} (${path.slice(0, path.lastIndexOf('/')) || '/'} does not exist there)`;
    substitutes.push({
      resource: path.slice(1),
      path: place,
      mode: 'append',
      reason: `${path}, which ${writers(users)}, exists only on the source: its output now goes to ${where}`,
    });
  }
  return { remaining: remaining.join('\n'), substitutes };
}

/** "process 12 writes to (descriptor 5)", "processes 12, 14 write to (descriptors 5, 5)": one
 * substitute serves every descriptor of the file, as CRIU matches them by path. */
function writers(users: { pid: number; fd: number }[]): string {
  const pids = [...new Set(users.map((u) => u.pid))];
  const fds = `${users.length > 1 ? 'descriptors' : 'descriptor'} ${users.map((u) => u.fd).join(', ')}`;
  return pids.length > 1 ? `processes ${pids.join(', ')} write to (${fds})` : `process ${pids[0]} writes to (${fds})`;
}

/** Established TCP connections of the tree, as `local:port→remote:port`. */
export function establishedConnections(inspection: ProcessInspection): string[] {
  const sockets = socketInodes(inspection);
  return inspection.inet
    .filter((s) => s.proto.startsWith('tcp') && s.state === TCP_ESTABLISHED && sockets.has(s.inode))
    .map((s) => `${s.localAddress}:${s.localPort}→${s.remoteAddress}:${s.remotePort}`);
}

/** Files the destination must have: executables, mapped files, open regular files, working
 * directories. `size` is compared unless null (directories, append-only logs). */
export function requiredFiles(inspection: ProcessInspection): { path: string; compareSize: boolean }[] {
  const out = new Map<string, boolean>();
  const add = (path: string, compareSize: boolean) => {
    if (!path.startsWith('/') || path.endsWith(' (deleted)') || /^\/(proc|sys|dev)\//.test(path) || KERNEL_MADE.test(path)) return;
    out.set(path, (out.get(path) ?? false) || compareSize);
  };
  for (const t of inspection.tasks) {
    add(t.exe, true);
    add(t.cwd, false);
  }
  for (const m of inspection.maps) add(m.path, true);
  // O_PATH: CRIU reopens it by path and compares no size (a symlink held itself, a directory).
  for (const f of inspection.fds) add(f.target, (f.flags & (O_APPEND | O_DIRECTORY_ANY | O_PATH)) === 0);
  return [...out].map(([path, compareSize]) => ({ path, compareSize }));
}

/** HotSpot's performance-data file, /tmp/hsperfdata_USER/PID, mapped shared by every JVM. */
const HOTSPOT_PERF_DATA = /\/hsperfdata_[^/]+\/\d+$/;

/** Sentences for files missing or different on the destination (helper `check-files` output). */
export function fileProblems(checkOutput: string, to: string): string[] {
  const missing: string[] = [];
  const differ: string[] = [];
  const perfData: string[] = [];
  for (const line of checkOutput.split('\n')) {
    const [path, status] = line.split('\t');
    if (!status) continue;
    if (status === 'missing') (HOTSPOT_PERF_DATA.test(path) ? perfData : missing).push(path);
    else if (status.startsWith('size:')) differ.push(path);
  }
  const list = (paths: string[]) => paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, and ${paths.length - 3} more` : '');
  const problems: string[] = [];
  if (perfData.length) {
    problems.push(
      `The process is a Java VM that keeps its performance counters in ${list(perfData)}, a file of its own that ${to} lacks and that is carried only from a tmpfs; restart it with \`-XX:+PerfDisableSharedMem\` (the counters then live in its own memory) to migrate it.`,
    );
  }
  if (missing.length) {
    problems.push(
      `${missing.length === 1 ? 'A file' : `${missing.length} files`} the process uses ${missing.length === 1 ? 'is' : 'are'} missing on ${to} (${list(missing)}); install the same software or copy ${missing.length === 1 ? 'it' : 'them'} there under the same path${missing.length === 1 ? '' : 's'}.`,
    );
  }
  if (differ.length) {
    problems.push(
      `${differ.length === 1 ? 'A file' : `${differ.length} files`} the process uses ${differ.length === 1 ? 'differs' : 'differ'} in size on ${to} (${list(differ)}); install the same versions there.`,
    );
  }
  return problems;
}

// Per-host state: files on tmpfs (POSIX shared memory in /dev/shm, /run/user/UID, a tmpfs /tmp)
// that the tree maps or holds open. They are memory of the source host, not project files: they
// travel with the images to the same path, owner and mode, instead of being "missing" there.

/** A file on tmpfs that the tree uses, as the source's `tmpfs-stat` saw it. */
export interface TmpfsFile {
  path: string;
  /** The tmpfs it is on (its mount point). */
  mount: string;
  size: number;
  /** Bytes it takes (holes do not): what it needs on the destination. */
  allocated: number;
  /** Permission bits, octal as `stat %a` prints them (`600`). */
  mode: string;
  uid: number;
  gid: number;
}

/** A process outside the tree that maps or holds open one of the tree's tmpfs files. */
export interface TmpfsSharer {
  path: string;
  pid: number;
  comm: string;
}

/** Paths on a tmpfs mount that the tree maps or holds open. A tmpfs root is the system itself, not
 * per-host state; deleted files are left to CRIU (ghost files); directories and anything that is
 * not a regular file are told apart by `tmpfs-stat` on the source. */
export function tmpfsCandidates(inspection: ProcessInspection): string[] {
  const paths = new Set<string>();
  const consider = (path: string) => {
    if (!path.startsWith('/') || path.endsWith(' (deleted)') || KERNEL_MADE.test(path)) return;
    const mount = mountOf(path, inspection.mounts);
    if (mount?.fsType === 'tmpfs' && mount.mountPoint !== '/' && path !== mount.mountPoint) paths.add(path);
  };
  for (const m of inspection.maps) consider(m.path);
  for (const f of inspection.fds) if ((f.flags & O_DIRECTORY_ANY) === 0) consider(f.target);
  return [...paths];
}

/** The source's `tmpfs-stat` answer: the regular files (those gone since are left out) and the
 * processes outside the tree that share them. */
export function parseTmpfsStat(text: string, inspection: ProcessInspection): { files: TmpfsFile[]; sharers: TmpfsSharer[] } {
  const files: TmpfsFile[] = [];
  const sharers: TmpfsSharer[] = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'sharer' && f.length >= 3) sharers.push({ path: f[1], pid: Number(f[2]), comm: f.slice(3).join('\t') });
    else if (f[1] === 'file' && f.length >= 7) {
      const [path, , size, allocated, mode, uid, gid] = f;
      files.push({ path, mount: mountOf(path, inspection.mounts)?.mountPoint ?? '', size: Number(size), allocated: Number(allocated), mode, uid: Number(uid), gid: Number(gid) });
    }
  }
  return { files, sharers };
}

/** Sentences for tmpfs files that cannot travel: shared with a process that stays, already on the
 * destination (another process's?), or with no place there (`tmpfs-check` answer of `to`). */
export function tmpfsProblems(files: readonly TmpfsFile[], sharers: readonly TmpfsSharer[], checkOutput: string, from: string, to: string): string[] {
  const problems: string[] = [];
  const what = (path: string) => kindOfTmpfsFile(files.find((f) => f.path === path)?.mount ?? '');
  for (const [path, users] of groupBy(sharers, (s) => s.path)) {
    const who = users.slice(0, 3).map((u) => `${u.pid} (${u.comm})`).join(', ') + (users.length > 3 ? `, and ${users.length - 3} more` : '');
    problems.push(
      `${path}, ${what(path)} of the process, is also used by process${users.length > 1 ? 'es' : ''} ${who} on ${from}, which would stay behind and no longer share it; stop ${users.length > 1 ? 'them' : 'it'}, or migrate a process tree that holds all of them, and retry.`,
    );
  }
  const status = new Map<string, string[]>();
  for (const line of checkOutput.split('\n')) {
    const [path, state, ...rest] = line.split('\t');
    if (state) status.set(path, [state, ...rest]);
  }
  const having = (state: string) => files.filter((f) => status.get(f.path)?.[0] === state);
  const list = (some: readonly TmpfsFile[]) => some.slice(0, 3).map((f) => f.path).join(', ') + (some.length > 3 ? `, and ${some.length - 3} more` : '');
  const existing = having('exists');
  if (existing.length) {
    const one = existing.length === 1;
    problems.push(
      `${list(existing)} already exist${one ? 's' : ''} on ${to} (another process's ${what(existing[0].path)}?), and the process's own ${one ? 'copy' : 'copies'} from ${from} would overwrite ${one ? 'it' : 'them'}; remove ${one ? 'it' : 'them'} on ${to} if nothing uses ${one ? 'it' : 'them'}, or migrate to another host.`,
    );
  }
  for (const f of having('no-dir')) {
    const dir = f.path.slice(0, f.path.lastIndexOf('/'));
    problems.push(`${dir}, where the process's ${f.path} belongs, does not exist on ${to}; create it there with the same owner and mode as on ${from} (for /run/user/UID: log in there as that user), and retry.`);
  }
  for (const f of having('not-tmpfs')) {
    const dir = f.path.slice(0, f.path.lastIndexOf('/'));
    problems.push(`${dir} is not on tmpfs on ${to} (it is ${status.get(f.path)?.[1] || 'another filesystem'}), so the process's ${f.path}, memory on ${from}, would be written to disk there; migrate to a host where it is a tmpfs, as on ${from}.`);
  }
  for (const [mount, some] of groupBy(having('free'), (f) => status.get(f.path)?.[2] ?? '')) {
    const freeKiB = Number(status.get(some[0].path)?.[1]);
    const need = some.reduce((sum, f) => sum + f.allocated, 0);
    if (Number.isFinite(freeKiB) && need > freeKiB * 1024) {
      problems.push(`${to} has ${formatBytes(freeKiB * 1024)} free in ${mount} but the process's files there (${list(some)}) take ${formatBytes(need)}; free some space in ${mount} on ${to}, or migrate to another host.`);
    }
  }
  return problems;
}

/** The report's line for each carried file: what travels, and why. */
export function carriedTmpfsOptions(files: readonly TmpfsFile[], from: string, to: string): { option: string; reason: string }[] {
  return files.map((f) => {
    const sparse = f.allocated < f.size ? `, ${formatBytes(f.allocated)} of it in use` : '';
    const kind = kindOfTmpfsFile(f.mount);
    return {
      option: `carry ${f.path} (${formatBytes(f.size)}${sparse})`,
      reason: `${kind[0].toUpperCase()}${kind.slice(1)} is per host: it travels with the images to the same path on ${to} (owner uid ${f.uid}, mode ${f.mode.padStart(4, '0')}), in place before the restore, and leaves ${from} after the move`,
    };
  });
}

/** What a tmpfs file is, in the report's words: /dev/shm holds POSIX shared memory (shm_open). */
function kindOfTmpfsFile(mount: string): string {
  return mount === '/dev/shm' ? 'POSIX shared memory' : `a file on the tmpfs ${mount || 'it is on'}`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

