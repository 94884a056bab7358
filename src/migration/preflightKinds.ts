// Kinds of kernel state that CRIU handles only with the right options, or not at all: each is
// found in the inspection and becomes a trait (an option with its reason) or one sentence that
// stops the migration before the freeze. Pure functions, unit-tested without hosts.
import type { FileSubstitute, FsNodeToMake } from '../checkpoint/engine';
import { formatBytes } from '../common/format';
import { socketInodes, type ProcessInspection, type TaskInfo } from '../helper/inspection';

/** Paths of things the kernel made up, on no filesystem, which CRIU carries itself: memfds, SysV
 * shared memory, shared anonymous huge pages, AIO rings (with or without " (deleted)"). */
export const KERNEL_MADE = /^\/(memfd:|SYSV[0-9a-fA-F]{8}( \(deleted\))?$|anon_hugepage( \(deleted\))?$|\[aio\]( \(deleted\))?$)/;

const who = (t: TaskInfo, from: string) => `Process ${t.pid} (${t.comm}) on ${from}`;

/** Zombies, another user's process without CAP_SYS_RESOURCE, pidfds that cannot move. */
export function kindProblems(inspection: ProcessInspection, from: string): string[] {
  const zombies = zombieProblems(inspection, from);
  if (zombies.length) return zombies;
  const rlimit = rlimitProblem(inspection, from);
  return [...(rlimit ? [rlimit] : []), ...pidfdProblems(inspection, from)];
}

/** A zombie has no memory or files left: CRIU cannot seize it ("Unable to detach") once frozen. */
export function zombieProblems(inspection: ProcessInspection, from: string): string[] {
  const root = inspection.tasks[0];
  if (isZombie(root)) {
    return [`Process ${root.pid} on ${from} has already exited (a zombie, waiting for its parent ${root.ppid} to collect its exit status): there is nothing left to migrate.`];
  }
  const zombie = inspection.tasks.find(isZombie);
  if (!zombie) return [];
  return [
    `${who(zombie, from)}, a child of process ${zombie.ppid} in the tree, has exited but its parent has not collected its exit status (a zombie), and CRIU cannot checkpoint a tree holding one; retry once process ${zombie.ppid} has waited for it.`,
  ];
}

/** A child in the tree is a zombie: often for a moment only (a shell loop's command that just
 * exited, until the shell reaps it). */
export function hasZombieChild(inspection: ProcessInspection): boolean {
  return inspection.tasks.slice(1).some(isZombie);
}

function isZombie(t: TaskInfo): boolean {
  return t.state === 'Z' || t.state === 'X';
}

const CAP_SYS_RESOURCE = 24n;

/** Without CAP_SYS_RESOURCE, prlimit(2) on a process of another user fails with EPERM, and so
 * does CRIU's dump ("Can't get rlimit 0: Operation not permitted"). */
export function rlimitProblem(inspection: ProcessInspection, from: string): string | undefined {
  const caps = inspection.selfCapEff;
  // As another user than root, the preflight already says to migrate it as its owner.
  if (inspection.selfUid !== 0 || caps === undefined || (caps >> CAP_SYS_RESOURCE) & 1n) return undefined;
  const foreign = inspection.tasks.find((t) => t.uid !== inspection.selfUid);
  if (!foreign) return undefined;
  return `${who(foreign, from)} belongs to uid ${foreign.uid}, and CRIU, running as uid ${inspection.selfUid} there without CAP_SYS_RESOURCE, cannot read the resource limits of another user's process; migrate it as its owner (uid ${foreign.uid}), or give root CAP_SYS_RESOURCE on ${from}.`;
}

/** PIDFD_THREAD (O_EXCL in the pidfd's flags). */
const PIDFD_THREAD = 0o200;

/** CRIU carries a pidfd only for a process of the tree (or one that has exited). */
export function pidfdProblems(inspection: ProcessInspection, from: string): string[] {
  const pids = new Set(inspection.tasks.map((t) => t.pid));
  const problems: string[] = [];
  for (const p of inspection.pidfds) {
    const holder = inspection.tasks.find((t) => t.pid === p.pid);
    const flags = inspection.fds.find((f) => f.pid === p.pid && f.fd === p.fd)?.flags ?? 0;
    const what = `${holder ? who(holder, from) : `Process ${p.pid} on ${from}`} holds a pidfd (descriptor ${p.fd})`;
    if (flags & PIDFD_THREAD) {
      problems.push(`${what} for a thread (PIDFD_THREAD), which CRIU cannot checkpoint yet; it can only be migrated once it has closed it.`);
    } else if (p.target !== -1 && !pids.has(p.target)) {
      problems.push(
        `${what} for process ${p.target}, which is not in the migrated tree and stays on ${from}, and a pidfd can only move with the process it refers to; it can only be migrated once it has closed it.`,
      );
    }
  }
  return problems;
}

/** Indices of the ptys whose master (/dev/ptmx) the tree holds: CRIU recreates such a pair
 * whole on the destination, so its /dev/pts/N is no terminal the process stays attached to. */
export function ownPtys(inspection: ProcessInspection): Set<number> {
  return new Set(inspection.ptyMasters.map((m) => m.index));
}

/** The device number of /dev/pts/N (Unix98 pty slaves: majors 136-143) in stat's tty_nr. */
export function ptyIndexOfTtyNr(ttyNr: number): number | undefined {
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  return major >= 136 && major <= 143 ? (major - 136) * 256 + minor : undefined;
}

/** CRIU reopens /dev/ptmx until it gets the pty's number back, at most 32 times: the number must
 * be free on the destination and within 32 of the first free one there. */
export function ptyProblems(inspection: ProcessInspection, usedOnDestination: number[], to: string): string[] {
  const used = new Set(usedOnDestination);
  let firstFree = 0;
  while (used.has(firstFree)) firstFree++;
  const problems: string[] = [];
  for (const index of [...ownPtys(inspection)].sort((a, b) => a - b)) {
    const where = `The process holds the pty /dev/pts/${index} it opened itself, which CRIU must recreate under the same number on ${to}`;
    if (used.has(index)) problems.push(`${where}, where /dev/pts/${index} is in use; retry once it is free there (or migrate to another host).`);
    else if (index - firstFree >= 32) problems.push(`${where}, where it can only reach the numbers ${firstFree}-${firstFree + 31}; retry on a host with fewer ptys in use.`);
  }
  return problems;
}

/** Deleted files the tree holds open or mapped, one per path, with the bytes each takes; CRIU
 * carries each whole in the images (a ghost file) and recreates it on the destination. */
export function ghostFiles(inspection: ProcessInspection): { path: string; bytes: number }[] {
  const byPath = new Map<string, number>();
  const fds = inspection.fds.filter((f) => f.target.startsWith('/') && f.target.endsWith(' (deleted)'));
  for (const d of [...fds.map((f) => ({ path: f.target, bytes: 0 })), ...inspection.deleted]) {
    if (KERNEL_MADE.test(d.path)) continue;
    byPath.set(d.path, Math.max(byPath.get(d.path) ?? 0, d.bytes));
  }
  return [...byPath].map(([path, bytes]) => ({ path: path.replace(/ \(deleted\)$/, ''), bytes }));
}

/** CRIU's own limit: a deleted file larger than this fails the dump unless --ghost-limit is raised. */
export const DEFAULT_GHOST_LIMIT = 1 << 20;

/** The --ghost-limit covering the largest deleted file, with room for it to grow until the
 * freeze (a quarter more, at least 1 MiB), in whole MiB; undefined when CRIU's default does. */
export function ghostLimit(inspection: ProcessInspection): { bytes: number; reason: string } | undefined {
  const files = ghostFiles(inspection);
  if (!files.length) return undefined;
  const largest = files.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  if (largest.bytes <= DEFAULT_GHOST_LIMIT * 0.75) return undefined;
  const bytes = Math.ceil((largest.bytes + Math.max(largest.bytes / 4, 1 << 20)) / (1 << 20)) * (1 << 20);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  return {
    bytes,
    reason: `it holds ${files.length > 1 ? `${files.length} deleted files (${formatBytes(total)} in all), the largest` : 'the deleted file'} ${largest.path} (${formatBytes(largest.bytes)}), which CRIU carries in the images and recreates on the destination only up to this size (1 MiB by default)`,
  };
}


/** FIFOs and symlinks (held as such) that the destination lacks (`missing` in check-files): they
 * are names with no data, made there as they are on the source. The rest of the output stays. */
export function nodesToMake(checkOutput: string, inspection: ProcessInspection, to: string): { remaining: string; nodes: FsNodeToMake[] } {
  const missing = new Set(checkOutput.split('\n').filter((l) => l.endsWith('\tmissing')).map((l) => l.slice(0, -8)));
  const nodes = new Map<string, FsNodeToMake>();
  for (const n of inspection.nodes) {
    if (!missing.has(n.path) || nodes.has(n.path)) continue;
    const reason =
      n.kind === 'fifo'
        ? `the FIFO ${n.path} that process ${n.pid} has open (descriptor ${n.fd}) is a name on the source only: it is made on ${to} with the same mode (${n.mode}) and owner, and the data in it moves with the process`
        : `the symlink ${n.path} that process ${n.pid} holds itself (descriptor ${n.fd}) exists on the source only: it is made on ${to}, pointing to ${n.linkTarget} as there`;
    nodes.set(n.path, { kind: n.kind, path: n.path, owner: n.owner, mode: n.mode, linkTarget: n.linkTarget, reason });
  }
  const remaining = checkOutput
    .split('\n')
    .filter((l) => !(l.endsWith('\tmissing') && nodes.has(l.slice(0, -8))))
    .join('\n');
  return { remaining, nodes: [...nodes.values()] };
}

/** Stream (or seqpacket) unix sockets connected to a process that stays on the source: like a
 * TCP connection to another host, the connection cannot follow. CRIU dumps this end alone and
 * the restore gives it a socket whose peer has closed, so the process reads end-of-file (and a
 * write fails with EPIPE), as after the peer closed it. */
export function cutUnixConnections(inspection: ProcessInspection, from: string, to: string, companions: ReadonlySet<number> = new Set()): FileSubstitute[] {
  const sockets = socketInodes(inspection);
  const out: FileSubstitute[] = [];
  for (const [inode, fd] of sockets) {
    const p = inspection.unixPeers.get(inode);
    if (!p || p.type === 'u_dgr' || p.peer === 0 || sockets.has(p.peer) || companions.has(p.peer)) continue;
    const peer = inspection.unixPeers.get(p.peer);
    const to_ = peer?.name ? ` (${peer.name})` : '';
    const holder = inspection.tasks.find((t) => t.pid === fd.pid);
    out.push({
      resource: `socket:[${inode}]`,
      path: '',
      mode: 'socket',
      reason: `descriptor ${fd.fd} of process ${fd.pid}${holder ? ` (${holder.comm})` : ''} is a unix socket connected to a process that stays on ${from}${to_}, and the connection cannot follow it to ${to}: it is closed there, and the process reads end-of-file as if its peer had closed it`,
    });
  }
  return out;
}

/** Datagram unix sockets connected to a socket of a process that stays (syslog's /dev/log):
 * with --ext-unix-sk CRIU connects them again on restore to the same path, where the
 * destination must have a receiver. `names`: those paths; `unnamed`: peers without one. */
export function externalDatagramPeers(inspection: ProcessInspection, companions: ReadonlySet<number> = new Set()): { names: string[]; unnamed: { pid: number; fd: number }[] } {
  const sockets = socketInodes(inspection);
  const names = new Set<string>();
  const unnamed: { pid: number; fd: number }[] = [];
  for (const [inode, fd] of sockets) {
    const p = inspection.unixPeers.get(inode);
    if (!p || p.type !== 'u_dgr' || p.peer === 0 || sockets.has(p.peer) || companions.has(p.peer)) continue;
    const name = inspection.unixPeers.get(p.peer)?.name;
    if (name?.startsWith('/')) names.add(name);
    else unnamed.push({ pid: fd.pid, fd: fd.fd });
  }
  return { names: [...names], unnamed };
}

/** The trait and the problems of `externalDatagramPeers`. */
export function datagramPeersOf(inspection: ProcessInspection, from: string, to: string, companions?: ReadonlySet<number>): { reason?: string; problems: string[] } {
  const { names, unnamed } = externalDatagramPeers(inspection, companions);
  const problems = unnamed.map(
    (u) =>
      `Descriptor ${u.fd} of process ${u.pid} on ${from} is a datagram unix socket connected to an unnamed socket of a process that stays there, which CRIU cannot connect again on ${to}; it can only be migrated once it has closed it.`,
  );
  const list = names.slice(0, 3).join(', ');
  const reason = names.length
    ? `it sends datagrams to ${list} (a process that stays on ${from}): on ${to} its socket${names.length > 1 ? 's are' : ' is'} connected to the receiver at the same path there`
    : undefined;
  return { reason, problems };
}
