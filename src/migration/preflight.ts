// Preflight: everything that can be known before the process is touched. Pure functions over
// what the helpers reported, so every rule is unit-tested without hosts.
import type { ParsedCapabilities } from '../checkpoint/capabilities';
import type { CheckpointEngine, ProcessTraits } from '../checkpoint/engine';
import { PF_KTHREAD, TCP_ESTABLISHED, socketInodes, type ProcessInspection } from '../checkpoint/inspection';

export interface PreflightInput {
  from: string;
  to: string;
  pid: number;
  source: ParsedCapabilities;
  destination: ParsedCapabilities;
  engine: CheckpointEngine;
  inspection: ProcessInspection;
}

export interface PreflightResult {
  /** Each one sentence with the fix; any problem stops the migration before the freeze. */
  problems: string[];
  traits: ProcessTraits;
  /** Things the user should know that do not stop the migration. */
  notes: string[];
}

const O_APPEND = 0o2000;
/** O_DIRECTORY: 0o200000 on x86, 0o40000 on arm, arm64 and powerpc (where the other bit is
 * O_DIRECT). Either skips the size comparison: CRIU compares sizes of regular files only, and a
 * direct-I/O file left out here is still checked by CRIU itself. */
const O_DIRECTORY_ANY = 0o200000 | 0o40000;

/** Paths of things the kernel made up, on no filesystem, which CRIU carries itself: memfds, SysV
 * shared memory, shared anonymous huge pages, AIO rings. The helper prints mapped paths without
 * their " (deleted)" suffix, so these are recognised by name. */
const KERNEL_MADE = /^\/(memfd:|SYSV[0-9a-fA-F]{8}$|anon_hugepage$|\[aio\]$)/;

/** Rules about the process and the two hosts, before any file is compared. */
export function checkProcessAndHosts(input: PreflightInput): PreflightResult {
  const { from, to, pid, source, destination, inspection } = input;
  const problems: string[] = [];
  const notes: string[] = [];

  if (!inspection.exists || inspection.tasks.length === 0) {
    return { problems: [`Process ${pid} does not exist on ${from}; list processes with \`procmig ps --host ${from}\`.`], traits: {}, notes };
  }
  const root = inspection.tasks[0];
  if (pid === 1) problems.push(`Process 1 is the init process of ${from}; it cannot be migrated.`);
  else if (root.flags & PF_KTHREAD || root.ppid === 2 || pid === 2) {
    problems.push(`Process ${pid} on ${from} is a kernel thread (${root.comm}); only user processes can be migrated.`);
  }
  if (problems.length) return { problems, traits: {}, notes };

  const traced = inspection.tasks.find((t) => t.tracerPid !== 0);
  if (traced) {
    problems.push(
      `Process ${traced.pid} (${traced.comm}) on ${from} is being traced by PID ${traced.tracerPid} (a debugger or strace); detach it and retry.`,
    );
  }
  if (inspection.selfUid !== 0) {
    const foreign = inspection.tasks.find((t) => t.uid !== inspection.selfUid);
    if (foreign) {
      problems.push(
        `Process ${foreign.pid} on ${from} belongs to uid ${foreign.uid}, not to you (uid ${inspection.selfUid}); migrate it as its owner or as root.`,
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
  }

  const rssKiB = treeRssKiB(inspection);
  if (rssKiB && destination.diskAvailableKiB && destination.diskAvailableKiB < rssKiB * 1.1 + 64 * 1024) {
    problems.push(
      `${to} has ${mib(destination.diskAvailableKiB)} free in ${destination.imagesDir} but the checkpoint needs about ${mib(rssKiB)}; free some space there.`,
    );
  }
  if (rssKiB && destination.memAvailableKiB && destination.memAvailableKiB < rssKiB + 32 * 1024) {
    problems.push(
      `${to} has ${mib(destination.memAvailableKiB)} of memory available but the process uses ${mib(rssKiB)}; free memory there or pick another host.`,
    );
  }

  return { problems, traits: traitsOf(inspection, from), notes };
}

export function treeRssKiB(inspection: ProcessInspection): number {
  return inspection.tasks.reduce((sum, t) => sum + t.rssKiB, 0);
}

/** What the engine must be told about this process, with the reason for each. */
export function traitsOf(inspection: ProcessInspection, from: string): ProcessTraits {
  const traits: ProcessTraits = {};
  const pids = new Set(inspection.tasks.map((t) => t.pid));
  const root = inspection.tasks[0];

  const ttys = [...new Set(inspection.fds.filter((f) => /^\/dev\/(pts\/\d+|tty\w*)$/.test(f.target)).map((f) => f.target))];
  const sessionOutside = inspection.tasks.some((t) => !pids.has(t.sid) || !pids.has(t.pgid));
  if (ttys.length || root.ttyNr !== 0) {
    traits.shellJob = `it runs on the terminal ${ttys[0] ?? 'of its session'}, whose session belongs to a shell that stays on ${from}`;
  } else if (sessionOutside) {
    traits.shellJob = `its session or process group leader (${root.sid}) is a process outside the migrated tree`;
  }

  const sockets = socketInodes(inspection);
  const established = inspection.inet.filter((s) => s.proto.startsWith('tcp') && s.state === TCP_ESTABLISHED && sockets.has(s.inode));
  if (established.length) {
    const list = established.slice(0, 3).map((s) => `${s.localPort}→${s.remoteAddress}:${s.remotePort}`).join(', ');
    traits.closeTcp = `${established.length} established TCP connection${established.length > 1 ? 's' : ''} (${list}) cannot follow it to another host: they are closed and the process sees a reset`;
  }

  if (inspection.locks.length) {
    const kinds = [...new Set(inspection.locks.map((l) => l.kind))].join('/');
    traits.fileLocks = `it holds ${inspection.locks.length} ${kinds} file lock${inspection.locks.length > 1 ? 's' : ''}`;
  }

  const deleted = inspection.fds.filter((f) => f.target.startsWith('/') && f.target.endsWith(' (deleted)') && !KERNEL_MADE.test(f.target));
  if (deleted.length) {
    traits.unlinkedFiles = `it has ${deleted.length} deleted file${deleted.length > 1 ? 's' : ''} open (${deleted[0].target.replace(/ \(deleted\)$/, '')})`;
  }
  return traits;
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
  for (const f of inspection.fds) add(f.target, (f.flags & (O_APPEND | O_DIRECTORY_ANY)) === 0);
  return [...out].map(([path, compareSize]) => ({ path, compareSize }));
}

/** Sentences for files missing or different on the destination (helper `check-files` output). */
export function fileProblems(checkOutput: string, to: string): string[] {
  const missing: string[] = [];
  const differ: string[] = [];
  for (const line of checkOutput.split('\n')) {
    const [path, status] = line.split('\t');
    if (!status) continue;
    if (status === 'missing') missing.push(path);
    else if (status.startsWith('size:')) differ.push(path);
  }
  const list = (paths: string[]) => paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, and ${paths.length - 3} more` : '');
  const problems: string[] = [];
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

function mib(kib: number): string {
  return kib >= 1024 * 1024 ? `${(kib / 1024 / 1024).toFixed(1)} GiB` : `${Math.round(kib / 1024)} MiB`;
}
