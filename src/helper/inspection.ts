// Parses the helper's `inspect PID` output: the process tree and what CRIU will meet in it.
import { parseKeyValues } from './hostHelper';

export interface TaskInfo {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Controlling tty device number (0: none). */
  ttyNr: number;
  /** Kernel task flags (PF_*). */
  flags: number;
  uid: number;
  tracerPid: number;
  /** Resident memory in KiB. */
  rssKiB: number;
  /** Seccomp mode: 0 none, 1 strict, 2 a filter (missing from older helpers: 0). */
  seccomp?: number;
  comm: string;
  /** Its command line (empty or missing when unknown). */
  argv?: string[];
  exe: string;
  cwd: string;
  ns: Record<string, string>;
}

export interface FdInfo {
  pid: number;
  fd: number;
  /** open(2) flags from fdinfo (octal in /proc). */
  flags: number;
  /** readlink of /proc/PID/fd/N: a path, `socket:[ino]`, `pipe:[ino]`, `anon_inode:…`, … */
  target: string;
}

export interface InetSocket {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** TCP state number: 1 established, 10 listen. */
  state: number;
  inode: number;
}

export interface UnixSocket {
  inode: number;
  /** 1 stream, 2 dgram, 5 seqpacket. */
  type: number;
  /** 1 unconnected, 3 connected. */
  state: number;
  path?: string;
}

export interface FileLock {
  pid: number;
  kind: string;
}

/** A file unlinked since the process opened or mapped it: CRIU carries it in the images. */
export interface DeletedFile {
  pid: number;
  via: 'fd' | 'map';
  /** Bytes it takes on disk (blocks: what CRIU's --ghost-limit compares). */
  bytes: number;
  /** With its " (deleted)" suffix, as /proc shows it. */
  path: string;
}

export interface ProcessInspection {
  pid: number;
  exists: boolean;
  /** uid the helper (and so CRIU) runs as. */
  selfUid: number;
  /** Its effective capabilities (CapEff, a bit mask), when the helper reports them. */
  selfCapEff?: bigint;
  /** Namespaces of the helper, i.e. of the host's login session. */
  hostNs: Record<string, string>;
  /** The tree rooted at `pid`, root first. */
  tasks: TaskInfo[];
  fds: FdInfo[];
  /** File-backed mappings (executable, libraries, mapped files). */
  maps: { pid: number; path: string }[];
  /** Shared-memory mappings (/dev/shm files, SysV segments). */
  shm: { pid: number; path: string }[];
  inet: InetSocket[];
  unix: UnixSocket[];
  /** Locks held by tasks of the tree. */
  locks: FileLock[];
  /** Short names (comm) of the tasks that trace tasks of the tree, by PID. */
  tracers: Record<number, string>;
  /** The root's mount table, in mount order (a later mount on the same point hides earlier ones). */
  mounts: MountInfo[];
  /** /dev/ptmx descriptors (pty masters) with the index of their pty (/dev/pts/INDEX). */
  ptyMasters: { pid: number; fd: number; index: number }[];
  /** pidfds with the PID they refer to (-1: a process that has exited). */
  pidfds: { pid: number; fd: number; target: number }[];
  deleted: DeletedFile[];
  /** FIFOs and symlinks held as such (O_PATH): names with no data, which CRIU reopens by path. */
  nodes: FsNode[];
  /** Unix sockets' peers (from `ss -x`) and names (bound path), by inode. */
  unixPeers: Map<number, { type: string; peer: number; name?: string }>;
}

export interface FsNode {
  pid: number;
  fd: number;
  kind: 'fifo' | 'symlink';
  /** `uid:gid`. */
  owner: string;
  /** Octal permission bits of a FIFO. */
  mode?: string;
  /** What a symlink points to. */
  linkTarget?: string;
  path: string;
}

export interface MountInfo {
  mountPoint: string;
  /** `ext4`, `tmpfs`, `devtmpfs`, … */
  fsType: string;
}

export const PF_KTHREAD = 0x00200000;
export const TCP_ESTABLISHED = 1;
export const TCP_LISTEN = 10;
/** States of a socket that holds no port against a new bind: TIME_WAIT, CLOSE. */
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;

export function parseInspection(pid: number, text: string): ProcessInspection {
  const kv = parseKeyValues(text);
  const result: ProcessInspection = {
    pid,
    exists: kv.exists === '1',
    selfUid: Number(kv.self_uid ?? -1),
    hostNs: {},
    tasks: [],
    fds: [],
    maps: [],
    shm: [],
    inet: [],
    unix: [],
    locks: [],
    tracers: {},
    mounts: [],
    ptyMasters: [],
    pidfds: [],
    deleted: [],
    nodes: [],
    unixPeers: new Map(),
  };
  if (/^[0-9a-f]+$/i.test(kv.self_cap_eff ?? '')) result.selfCapEff = BigInt(`0x${kv.self_cap_eff}`);
  for (const [k, v] of Object.entries(kv)) if (k.startsWith('host_ns.')) result.hostNs[k.slice(8)] = v;

  const tasks = new Map<number, TaskInfo>();
  const task = (p: number) => tasks.get(p);
  const lockLines: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'task': {
        const [, p, state, ppid, pgid, sid, tty, flags, uid, tracer, rss, seccomp] = f;
        // A task that ended between the helper's reads of its stat and status (a short-lived
        // child, e.g. a shell loop's `sleep`) has no status fields: it is no part of the tree.
        if (!uid || tracer === undefined) break;
        const t: TaskInfo = {
          pid: Number(p), state, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), ttyNr: Number(tty),
          flags: Number(flags), uid: Number(uid), tracerPid: Number(tracer), rssKiB: Number(rss) || 0, seccomp: Number(seccomp) || 0, comm: '', argv: [], exe: '', cwd: '', ns: {},
        };
        tasks.set(t.pid, t);
        result.tasks.push(t);
        break;
      }
      case 'comm': { const t = task(Number(f[1])); if (t) t.comm = f.slice(2).join('\t'); break; }
      // NUL-separated in /proc, tab-separated here, with a tab after the last argument.
      case 'cmdline': { const t = task(Number(f[1])); if (t) t.argv = f.slice(2, -1); break; }
      case 'exe': { const t = task(Number(f[1])); if (t) t.exe = f.slice(2).join('\t'); break; }
      case 'cwd': { const t = task(Number(f[1])); if (t) t.cwd = f.slice(2).join('\t'); break; }
      case 'ns': { const t = task(Number(f[1])); if (t) t.ns[f[2]] = f[3]; break; }
      case 'fd':
        result.fds.push({ pid: Number(f[1]), fd: Number(f[2]), flags: parseInt(f[3] || '0', 8), target: f.slice(4).join('\t') });
        break;
      case 'map': result.maps.push({ pid: Number(f[1]), path: f.slice(2).join('\t') }); break;
      case 'shm': result.shm.push({ pid: Number(f[1]), path: f.slice(2).join('\t') }); break;
      case 'net.tcp': case 'net.tcp6': case 'net.udp': case 'net.udp6': {
        const s = parseInetLine(f[0].slice(4) as InetSocket['proto'], f[1]);
        if (s) result.inet.push(s);
        break;
      }
      case 'net.unix': { const s = parseUnixLine(f[1]); if (s) result.unix.push(s); break; }
      case 'lock': lockLines.push(f[1]); break;
      case 'tracer': result.tracers[Number(f[1])] = f.slice(2).join('\t'); break;
      case 'mount': result.mounts.push({ mountPoint: unescapeMountPath(f[1] ?? ''), fsType: f[2] ?? '' }); break;
      case 'ptmx': if (f[3]) result.ptyMasters.push({ pid: Number(f[1]), fd: Number(f[2]), index: Number(f[3]) }); break;
      case 'pidfd': if (f[3]) result.pidfds.push({ pid: Number(f[1]), fd: Number(f[2]), target: Number(f[3]) }); break;
      case 'fifo': result.nodes.push({ pid: Number(f[1]), fd: Number(f[2]), kind: 'fifo', owner: f[3], mode: f[4], path: f.slice(5).join('\t') }); break;
      case 'symlink': result.nodes.push({ pid: Number(f[1]), fd: Number(f[2]), kind: 'symlink', owner: f[3], linkTarget: f[4], path: f.slice(5).join('\t') }); break;
      case 'unixpeer':
        if (/^\d+$/.test(f[2]) && /^\d+$/.test(f[3])) result.unixPeers.set(Number(f[2]), { type: f[1], peer: Number(f[3]), name: f[4] && f[4] !== '*' ? f[4] : undefined });
        break;
      case 'deleted':
        result.deleted.push({ pid: Number(f[1]), via: f[2] === 'map' ? 'map' : 'fd', bytes: Number(f[3]) || 0, path: f.slice(4).join('\t') });
        break;
    }
  }
  for (const line of lockLines) {
    // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; blocked waiters start with "->".
    const m = /^\d+:\s+(?:->\s+)?(\S+)\s+\S+\s+\S+\s+(\d+)\s/.exec(line);
    if (m && tasks.has(Number(m[2]))) result.locks.push({ pid: Number(m[2]), kind: m[1] });
  }
  return result;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes (`\040`). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mount a path is on: the longest mount point containing it, the last mounted there. */
export function mountOf(path: string, mounts: readonly MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

function hexToIp(hex: string): string {
  if (hex.length === 8) {
    // IPv4 in host (little-endian) byte order.
    return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  }
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    const bytes = [6, 4, 2, 0].map((j) => w.slice(j, j + 2)).join('');
    words.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  return words.map((w) => w.replace(/^0+(?=.)/, '').toLowerCase()).join(':');
}

export function parseInetLine(proto: InetSocket['proto'], line: string | undefined): InetSocket | undefined {
  const f = line?.trim().split(/\s+/);
  if (!f || f.length < 10 || !f[1].includes(':')) return undefined;
  const [la, lp] = f[1].split(':');
  const [ra, rp] = f[2].split(':');
  return {
    proto,
    localAddress: hexToIp(la),
    localPort: parseInt(lp, 16),
    remoteAddress: hexToIp(ra),
    remotePort: parseInt(rp, 16),
    state: parseInt(f[3], 16),
    inode: Number(f[9]),
  };
}

function parseUnixLine(line: string | undefined): UnixSocket | undefined {
  const f = line?.trim().split(/\s+/);
  if (!f || f.length < 7 || !/^[0-9a-f]+:$/i.test(f[0])) return undefined;
  return { type: parseInt(f[4], 16), state: parseInt(f[5], 16), inode: Number(f[6]), path: f[7] };
}

/** Socket inodes held by the tree, from `socket:[ino]` descriptors. */
export function socketInodes(inspection: ProcessInspection): Map<number, FdInfo> {
  const out = new Map<number, FdInfo>();
  for (const fd of inspection.fds) {
    const m = /^socket:\[(\d+)\]$/.exec(fd.target);
    if (m) out.set(Number(m[1]), fd);
  }
  return out;
}

/** Descriptors on anonymous inodes (`anon_inode:[eventfd]`, `anon_inode:inotify`, …) by kind,
 * without the brackets: `eventfd`, `inotify`, `io_uring`, … */
export function anonInodes(inspection: ProcessInspection): Map<string, FdInfo[]> {
  const out = new Map<string, FdInfo[]>();
  for (const fd of inspection.fds) {
    const m = /^anon_inode:\[?([^\]]+)\]?$/.exec(fd.target);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), fd]);
  }
  return out;
}
