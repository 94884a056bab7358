// Parses the helper's `host-state` (cgroup-aware load, memory and disk), `tree-use` and
// `link-rtt` output.
import { parseKeyValues } from './hostHelper';

export interface HostStateSample {
  cpusOnline: number;
  load1: number;
  load5: number;
  /** MemAvailable, and the tightest cgroup limit and what it leaves, when there is one. */
  memAvailableKiB: number;
  memLimitKiB?: number;
  memLimitAvailableKiB?: number;
  /** The tightest CPU quota, in cores. */
  cpuQuotaCores?: number;
  /** The host cgroup's CPU time so far, and the uptime it was read at. */
  cpuUsageUsec?: number;
  uptimeS: number;
  cpuPressure?: number;
  diskAvailableKiB: number;
  arch: string;
  criuVersion?: string;
  /** The kernel's boot ID: hosts that share it run on one machine's cores. */
  bootId?: string;
  /** The port the helper's SSH session came in on: the host's sshd, for link-rtt from others. */
  sshPort?: number;
}

export function parseHostState(text: string): HostStateSample {
  // cg_mem and cg_cpu_quota come once per limited level; the tightest counts.
  const lines = text.split('\n');
  const all = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).split(' ').map(Number));
  const kv = parseKeyValues(text);
  const [load1 = 0, load5 = 0] = (kv.loadavg ?? '').split(' ').map(Number);
  const mem = all('cg_mem').filter(([limit, left]) => limit > 0 && Number.isFinite(left));
  const tightest = mem.sort((a, b) => a[1] - b[1])[0];
  const quotas = all('cg_cpu_quota').filter(([q, p]) => q > 0 && p > 0).map(([q, p]) => q / p);
  const number = (v: string | undefined) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));
  return {
    cpusOnline: Number(kv.cpus_online) || 1,
    load1,
    load5,
    memAvailableKiB: Number(kv.mem_available_kib) || 0,
    ...(tightest ? { memLimitKiB: tightest[0], memLimitAvailableKiB: Math.max(0, tightest[1]) } : {}),
    ...(quotas.length ? { cpuQuotaCores: Math.min(...quotas) } : {}),
    cpuUsageUsec: number(kv.cg_cpu_usage_usec),
    uptimeS: Number(kv.uptime) || 0,
    cpuPressure: number(kv.cpu_pressure),
    diskAvailableKiB: Number(kv.disk_available_kib) || 0,
    arch: kv.arch ?? '',
    criuVersion: kv.criu_version || undefined,
    ...(kv.boot_id ? { bootId: kv.boot_id } : {}),
    ...(Number(kv.ssh_port) > 0 ? { sshPort: Number(kv.ssh_port) } : {}),
  };
}

/** A tree's CPU time (`tree-use`), in seconds, and the uptime it was read at. */
export function parseTreeUse(text: string): { cpuSeconds: number; uptimeS: number } {
  const kv = parseKeyValues(text);
  return { cpuSeconds: (Number(kv.ticks) || 0) / (Number(kv.clk_tck) || 100), uptimeS: Number(kv.uptime) || 0 };
}

/** `link-rtt`'s round trip in ms (a TCP connect from one host to another's sshd). */
export function parseLinkRtt(text: string): number {
  const ms = Number(parseKeyValues(text).rtt_ms);
  if (!(ms >= 0)) throw new Error(`unexpected link-rtt output: ${text.trim().split('\n')[0] ?? ''}`);
  return ms;
}
