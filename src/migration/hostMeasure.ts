// A host's state from one `host-state` reading (and the one before it, for CPU as a rate), and a
// process tree's recent CPU use from two `tree-use` readings.
import type { HostHelper } from '../helper/hostHelper';
import { parseHostState, parseTreeUse } from '../helper/hostState';
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
    rttMs,
    ...(s.cpuUsageUsec !== undefined ? { cpuTime: { usageUsec: s.cpuUsageUsec, uptimeS: s.uptimeS } } : {}),
  };
}

/** The tree's CPU use in cores between two readings `tree-use` took. */
export function treeCores(first: string, second: string): number {
  const a = parseTreeUse(first);
  const b = parseTreeUse(second);
  const elapsed = b.uptimeS - a.uptimeS;
  return elapsed > 0 ? Math.max(0, (b.cpuSeconds - a.cpuSeconds) / elapsed) : 0;
}
