// Parses the helper's `host-state` output: what a host has to spare, within its cgroup's limits.
import { parseKeyValues } from './hostHelper';

export interface HostSample {
  arch: string;
  /** Online CPUs. */
  cpusOnline: number;
  /** The cgroup's CPU quota in cores, when it has one. */
  cpuQuota?: number;
  /** Cores the host's processes may use: the online CPUs, or fewer under a quota. */
  cpus: number;
  /** The cgroup's CPU time so far (ns), when the kernel counts it, at `uptime`. */
  cpuUsageNs?: number;
  /** Seconds since boot: one clock for every probe of a host, so two samples give a rate. */
  uptime: number;
  /** /proc/loadavg: the machine's, not the cgroup's. */
  loadavg1: number;
  loadavg5: number;
  cpuPressure?: number;
  memAvailableBytes: number;
  memLimitBytes?: number;
  diskFreeBytes: number;
  imagesDir: string;
  criuVersion?: string;
}

export function parseHostState(text: string): HostSample {
  const kv = parseKeyValues(text);
  const num = (key: string): number | undefined => (kv[key] === undefined || kv[key] === '' || !Number.isFinite(Number(kv[key])) ? undefined : Number(kv[key]));
  const cpusOnline = num('cpus_online') ?? 1;
  const cpuQuota = num('cpu_quota');
  const cpuUsageNs = num('cpu_usage_ns');
  const cpuPressure = num('cpu_pressure');
  const memLimitBytes = num('mem_limit_bytes');
  return {
    arch: kv.arch ?? '',
    cpusOnline,
    ...(cpuQuota !== undefined ? { cpuQuota } : {}),
    cpus: cpuQuota !== undefined && cpuQuota > 0 ? Math.min(cpusOnline, cpuQuota) : cpusOnline,
    ...(cpuUsageNs !== undefined ? { cpuUsageNs } : {}),
    uptime: num('uptime') ?? 0,
    loadavg1: num('load1') ?? 0,
    loadavg5: num('load5') ?? 0,
    ...(cpuPressure !== undefined ? { cpuPressure } : {}),
    memAvailableBytes: (num('mem_available_kib') ?? 0) * 1024,
    ...(memLimitBytes !== undefined ? { memLimitBytes } : {}),
    diskFreeBytes: (num('disk_available_kib') ?? 0) * 1024,
    imagesDir: kv.images_dir ?? '',
    ...(kv.criu_version ? { criuVersion: kv.criu_version } : {}),
  };
}

/** The helper's `tree-use`: what a process tree uses lately. */
export function parseTreeUse(text: string): { cpuCores: number; rssBytes: number } {
  const kv = parseKeyValues(text);
  return { cpuCores: Number(kv.cpu_cores) || 0, rssBytes: (Number(kv.rss_kib) || 0) * 1024 };
}
