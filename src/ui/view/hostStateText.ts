// How a host row words the engine's measured state (load per core, memory, disk, link; stale or
// not). Host-free and pure: no vscode here, so it is unit-tested.
import type { HostState as MeasuredState } from '../../migration/api';
import { formatBytes } from '../../common/format';

/** `load 0.42/core · 1.2 GiB avail · 20.0 GiB disk · 0.8 ms`, with `stale` first when it is. */
export function measuredDescription(m: MeasuredState): string {
  const parts: string[] = [];
  if (m.stale) parts.push(m.measuredAt ? 'stale' : 'not measured');
  if (m.measuredAt) {
    parts.push(`load ${m.load1.toFixed(2)}/core`);
    parts.push(`${formatBytes(m.memAvailableBytes)} avail`);
    parts.push(`${formatBytes(m.diskFreeBytes)} disk`);
    if (m.link?.rttMs !== undefined) parts.push(`${formatRtt(m.link.rttMs)}`);
  }
  return parts.join(' · ');
}

export function formatRtt(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** The tooltip's table rows: label, value. */
export function measuredRows(m: MeasuredState, now = Date.now()): [string, string][] {
  const rows: [string, string][] = [];
  if (!m.measuredAt) return [['Measured', m.error ? `never: ${m.error}` : 'not yet']];
  const age = ageText(now - Date.parse(m.measuredAt));
  rows.push(['Measured', `${age} ago${m.stale ? ' (stale)' : ''}`]);
  rows.push(['Load per core', `${m.load1.toFixed(2)} (1 min), ${m.load5.toFixed(2)} (5 min) on ${m.cpus} usable cores`]);
  if (m.cpuPressure !== undefined) rows.push(['CPU pressure', `${m.cpuPressure.toFixed(1)}% (some, 10 s)`]);
  rows.push(['Memory available', `${formatBytes(m.memAvailableBytes)}${m.memLimitBytes !== undefined ? ` of a ${formatBytes(m.memLimitBytes)} cgroup limit` : ''}`]);
  rows.push(['Disk for images', `${formatBytes(m.diskFreeBytes)} free`]);
  if (m.link) {
    const rtt = m.link.rttMs !== undefined ? `RTT ${formatRtt(m.link.rttMs)}` : 'RTT not measured';
    const speed = m.link.mibPerSec !== undefined ? `, ${m.link.mibPerSec.toFixed(1)} MiB/s` : '';
    rows.push([`Link from ${m.link.from}`, rtt + speed]);
  }
  if (m.criuVersion) rows.push(['CRIU', m.criuVersion]);
  return rows;
}

/** Why a stale state is stale, in one sentence (undefined when fresh). */
export function staleText(m: MeasuredState, now = Date.now()): string | undefined {
  if (!m.stale) return undefined;
  if (m.error) return `Stale: the last probe failed (${m.error.replace(/\.$/, '')}).`;
  if (!m.measuredAt) return 'Not measured yet.';
  return `Stale: last measured ${ageText(now - Date.parse(m.measuredAt))} ago.`;
}

function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
