// How many processes of a batch to freeze at once, from what the two hosts measure. Each frozen
// process keeps a CRIU, an ssh and an sshd busy on both sides, so the busier side's idle cores
// bound how many can be frozen without lengthening each one's freeze; a host under a CPU quota
// (a container, lab-c) counts its quota, and one busy with other work counts what is left.
import type { HostState } from './api';
import { idleCores } from './hostMeasure';

export interface SlotChoice {
  count: number;
  /** Why, for the batch's report. */
  reason: string;
}

export function chooseFreezeSlots(states: readonly HostState[], processes: number): SlotChoice {
  if (!states.length) return { count: 1, reason: 'neither host could be measured: one at a time' };
  const sides = states.map((s) => ({ host: s.host, idle: idleCores(s), cpus: s.cpus }));
  const busiest = sides.reduce((a, b) => (b.idle < a.idle ? b : a));
  const count = Math.max(1, Math.min(processes, Math.round(busiest.idle)));
  const round = (n: number) => Math.round(n * 10) / 10;
  return { count, reason: `${busiest.host}: ${round(busiest.idle)} of ${round(busiest.cpus)} cores idle, the fewer of the two hosts` };
}
