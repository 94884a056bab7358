// Parses the helper's `caps` output into what a host can do.
import { parseCpuFeatures, type CpuFeatures } from './cpuFeatures';
import { parseKeyValues } from './hostHelper';

export interface HostCapabilities {
  host: string;
  hostname: string;
  criuVersion?: string;
  kernel: string;
  arch: string;
  cpus: number;
  /** 1-minute load average. */
  load1: number;
  memAvailableKiB: number;
  /** Free space where checkpoint images are kept. */
  diskAvailableKiB: number;
  imagesDir: string;
  /** How CRIU runs: as root, through `sudo -n`, as the user in CRIU's unprivileged mode (a criu
   * with cap_checkpoint_restore, cap_sys_ptrace and cap_setpcap), or not at all. */
  privilege: 'root' | 'sudo' | 'unprivileged' | 'none';
  /** The user the helper runs as, and its uid. */
  user?: string;
  uid?: number;
  /** Through sudo: whether root has CAP_SYS_RESOURCE, without which CRIU cannot read the
   * limits of another uid's process, so it cannot dump the user's processes. */
  sudoRlimits?: boolean;
  /** CRIU features by `criu check --feature` name (mem_dirty_track, uffd, uffd-noncoop, …). */
  features: Record<string, boolean>;
  /** fs.pipe-max-size in bytes (post-copy needs ≥ 4 MiB on the dumping host). */
  pipeMaxSize: number;
  /** tmux version, if installed: a process on a terminal is restored inside a tmux session. */
  tmux?: string;
  /** Whether CRIU keeps its probe of the kernel between runs (/run is a tmpfs); undefined where
   * CRIU does not run as root. */
  criuProbeKept?: boolean;
}

export interface ParsedCapabilities extends HostCapabilities {
  helperVersion: string;
  /** `ok`, or the error line of a failing `criu check`. */
  criuCheck?: string;
  /** How many files the helper can open here for a restore to inherit (6 with POSIX sh alone). */
  inheritFdsMax: number;
  /** Instruction-set flags and xsave size; undefined when the helper could not tell. */
  cpu?: CpuFeatures;
  /** What hands CRIU its page connection over a unix socket here (`perl`, `python3`); empty:
   * neither is installed. */
  pageSocketTool?: string;
}

export function parseCapabilities(host: string, text: string): ParsedCapabilities {
  const kv = parseKeyValues(text);
  const num = (key: string) => Number(kv[key] ?? 0) || 0;
  const cpu = parseCpuFeatures(kv.cpu_flags, kv.cpuinfo_image);
  const features: Record<string, boolean> = {};
  for (const [key, value] of Object.entries(kv)) {
    if (key.startsWith('feature.')) features[key.slice('feature.'.length)] = value === '1';
  }
  return {
    host,
    helperVersion: kv.helper_version ?? '',
    hostname: kv.hostname ?? host,
    criuVersion: kv.criu_version || undefined,
    criuCheck: kv.criu_check,
    kernel: kv.kernel ?? '',
    arch: kv.arch ?? '',
    cpus: num('cpus'),
    load1: Number(kv.load1 ?? 0) || 0,
    memAvailableKiB: num('mem_available_kib'),
    diskAvailableKiB: num('disk_available_kib'),
    imagesDir: kv.images_dir ?? '',
    privilege: (kv.privilege as HostCapabilities['privilege']) ?? 'none',
    ...(kv.user ? { user: kv.user } : {}),
    ...(kv.uid ? { uid: Number(kv.uid) } : {}),
    ...(kv.sudo_rlimits ? { sudoRlimits: kv.sudo_rlimits === '1' } : {}),
    features,
    pipeMaxSize: num('pipe_max_size'),
    inheritFdsMax: num('inherit_fds_max') || 6,
    ...(kv.page_socket !== undefined ? { pageSocketTool: kv.page_socket } : {}),
    ...(kv.tmux ? { tmux: kv.tmux } : {}),
    ...(kv.criu_probe_kept ? { criuProbeKept: kv.criu_probe_kept === '1' } : {}),
    ...(cpu ? { cpu } : {}),
  };
}

/** `4.2.1` ≥ `4.2`? Missing parts count as 0. */
export function versionAtLeast(version: string | undefined, minimum: string): boolean {
  if (!version) return false;
  const have = version.split('.').map((p) => parseInt(p, 10) || 0);
  const want = minimum.split('.').map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
