// A host's state from one `host-state` reading (and the one before it, for CPU as a rate), and a
// process tree's recent CPU use from two `tree-use` readings, and the round trip between two hosts.
import type { HostHelper } from '../helper/hostHelper';
import { parseHostState, parseLinkRtt, parseTreeUse } from '../helper/hostState';
import type { HostState } from './api';

export async function measureHost(helper: Pick<HostHelper, 'run'>, host: string, previous?: HostState): Promise<HostState> {
  const started = performance.now();
  await helper.run(['version']);
  const rttMs = Math.round(performance.now() - started);
  const s = parseHostState(await helper.run(['host-state']));
  const cpus = s.cpuQuotaCores !== undefined ? Math.min(s.cpuQuotaCores, s.cpusOnline) : s.cpusOnline;
  const last = previous?.cpuTime;
  const elapsed = last && s.cpuUsageUsec !== undefined ? s.uptimeS - last.uptimeS : 0;
  const busyCores = last && elapsed > 0.2 ? Math.max(0, (s.cpuUsageUsec! - last.usageUsec) / 1e6 / elapsed) : undefined;
  return {
    host,
    measuredAt: Date.now(),
    cpus: Math.round(cpus * 100) / 100,
    load1PerCore: s.load1 / s.cpusOnline,
    load5PerCore: s.load5 / s.cpusOnline,
    ...(busyCores !== undefined ? { busyCores: Math.round(busyCores * 100) / 100 } : {}),
    ...(s.cpuPressure !== undefined ? { cpuPressure: s.cpuPressure } : {}),
    memAvailableKiB: s.memLimitAvailableKiB !== undefined ? Math.min(s.memLimitAvailableKiB, s.memAvailableKiB) : s.memAvailableKiB,
    ...(s.memLimitKiB !== undefined ? { memLimitKiB: s.memLimitKiB } : {}),
    diskAvailableKiB: s.diskAvailableKiB,
    ...(s.criuVersion ? { criuVersion: s.criuVersion } : {}),
    arch: s.arch,
    ...(s.bootId ? { bootId: s.bootId } : {}),
    rttMs,
    ...(s.sshPort !== undefined ? { sshPort: s.sshPort } : {}),
    ...(s.cpuUsageUsec !== undefined ? { cpuTime: { usageUsec: s.cpuUsageUsec, uptimeS: s.uptimeS } } : {}),
  };
}

/** Idle cores: the quota (or CPUs) minus what the host's cgroup uses, else minus its load. */
export function idleCores(state: HostState): number {
  const busy = state.busyCores ?? state.load1PerCore * state.cpus;
  return Math.max(0, state.cpus - busy);
}

/** The round trip from the host of `helper` to `to`, whose sshd listens at `address`:`port`
 * (timed there: a TCP connect, which any host a direct transfer reaches also answers). */
export async function measureLink(helper: Pick<HostHelper, 'run'>, to: { name: string; address?: string }, port = 22): Promise<number> {
  const { address } = to;
  if (!address) throw new Error(`${to.name}'s address is unknown`);
  // The address this machine reaches through a forward is no address another host can use.
  if (/^(localhost|127\.|::1$|\[::1\])/.test(address)) throw new Error(`${to.name}'s address here, ${address}, is this machine's loopback`);
  return parseLinkRtt(await helper.run(['link-rtt', address, String(port)]));
}

/** The tree's CPU use in cores between two readings `tree-use` took. */
export function treeCores(first: string, second: string): number {
  const a = parseTreeUse(first);
  const b = parseTreeUse(second);
  const elapsed = b.uptimeS - a.uptimeS;
  return elapsed > 0 ? Math.max(0, (b.cpuSeconds - a.cpuSeconds) / elapsed) : 0;
}
