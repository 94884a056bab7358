// How a host row words the measured state of the host (automatic/hostStates.ts): the row's
// description and the tooltip's rows, stale marked stale. Host-free and pure, so unit-tested.
import type { HostState as MeasuredState } from '../../migration/api';
import { formatKiB } from '../../common/format';
import { linksText } from '../../automatic/placement';
import { idleCores } from '../../migration/hostMeasure';

/** False when never measured: a failed first probe leaves a state with no CPU count. */
export function measured(m: MeasuredState): boolean {
  return m.cpus > 0;
}

/** Cores in use: the cgroup's rate when measured twice, else the load. */
function busyCores(m: MeasuredState): number {
  return m.cpus - idleCores(m);
}

/** `1.2/2 cores busy · 3.1 GiB free · 4 ms`, then `(stale: why)` when it is. */
export function measuredDescription(m: MeasuredState): string {
  const stale = m.stale ? `(stale: ${m.stale.replace(/\.$/, '')})` : '';
  if (!measured(m)) return stale;
  const parts = [`${busyCores(m).toFixed(1)}/${m.cpus} cores busy`, `${formatKiB(m.memAvailableKiB)} free`];
  if (m.rttMs !== undefined) parts.push(`${m.rttMs} ms`);
  return [parts.join(' · '), stale].filter(Boolean).join(' ');
}

/** The tooltip's table: label, value. */
export function measuredRows(m: MeasuredState, now = Date.now()): [string, string][] {
  const age = `${Math.max(0, Math.round((now - m.measuredAt) / 1000))} s ago`;
  if (!measured(m)) return [['Measured', m.stale ? `never: ${m.stale}` : 'not yet']];
  const rows: [string, string][] = [
    ['Measured', m.stale ? `${age} (stale: ${m.stale})` : age],
    ['Load per core', `${m.load1PerCore.toFixed(2)} (1 min), ${m.load5PerCore.toFixed(2)} (5 min) on ${m.cpus} cores`],
    ['Cores busy', `${busyCores(m).toFixed(2)} of ${m.cpus}${m.busyCores === undefined ? ' (from the load)' : ''}`],
  ];
  if (m.cpuPressure !== undefined) rows.push(['CPU pressure', `${m.cpuPressure}% (some, 10 s)`]);
  rows.push(['Memory available', `${formatKiB(m.memAvailableKiB)}${m.memLimitKiB !== undefined ? ` (cgroup limit ${formatKiB(m.memLimitKiB)})` : ''}`]);
  rows.push(['Disk for images', `${formatKiB(m.diskAvailableKiB)} free`]);
  rows.push(['CRIU', m.criuVersion ?? 'not installed']);
  if (m.arch) rows.push(['Architecture', m.arch]);
  if (m.rttMs !== undefined) rows.push(['Round trip', `${m.rttMs} ms from this machine`]);
  if (m.links?.length) rows.push(['Links', linksText(m)]);
  return rows;
}

