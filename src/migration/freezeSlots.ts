// How many processes of a batch to freeze at once, from what the two hosts measure. Each frozen
// process keeps a CRIU, an ssh and an sshd busy on both sides, so the busier side's idle cores
// bound how many can be frozen without lengthening each one's freeze; a host under a CPU quota
// (a container, lab-c) counts its quota, and one busy with other work counts what is left. Two
// hosts on one kernel (containers or namespaces of one machine: the same boot ID) share its
// cores, and a frozen process keeps about two of them busy, both ends of its stream.
import type { HostState } from './api';
import { idleCores } from './hostMeasure';

/** Cores one frozen process keeps busy when both hosts are one machine: CRIU and ssh for the
 * source, sshd and CRIU's page server for the destination, and the kernel's loopback between
 * them (on the lab's 2 cores, two at a time lengthened each 64 MiB dump 1.3–1.5×). */
const CORES_PER_FREEZE_ON_ONE_MACHINE = 2;

export interface SlotChoice {
  count: number;
  /** Why, for the batch's report. */
  reason: string;
}

/** The slots for a batch of `processes`, from `states` read while its first process is frozen:
 * what that one uses is in the reading, and what is left idle makes room for more. */
export function chooseFreezeSlots(states: readonly HostState[], processes: number): SlotChoice {
  if (!states.length) return { count: 1, reason: 'neither host could be measured: one at a time' };
  const round = (n: number) => Math.round(n * 10) / 10;
  const slots = (spare: number, perFreeze: number) => Math.max(1, Math.min(processes, 1 + Math.round(spare / perFreeze)));
  const [one, other] = states;
  if (one && other && one.bootId && one.bootId === other.bootId) {
    // Their cgroups are apart, their cores are not: what both use leaves the rest idle.
    const cpus = Math.min(one.cpus, other.cpus);
    const idle = Math.max(0, cpus - (one.cpus - idleCores(one)) - (other.cpus - idleCores(other)));
    return {
      count: slots(idle, CORES_PER_FREEZE_ON_ONE_MACHINE),
      reason: `${one.host} and ${other.host} are one machine: ${round(idle)} of ${round(cpus)} cores idle with one process frozen, about ${CORES_PER_FREEZE_ON_ONE_MACHINE} for each more`,
    };
  }
  const sides = states.map((s) => ({ host: s.host, idle: idleCores(s), cpus: s.cpus }));
  const busiest = sides.reduce((a, b) => (b.idle < a.idle ? b : a));
  return { count: slots(busiest.idle, 1), reason: `${busiest.host}: ${round(busiest.idle)} of ${round(busiest.cpus)} cores idle with one process frozen, the fewer of the two hosts` };
}
