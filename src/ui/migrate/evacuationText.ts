// What an evacuation leaves in the history and says to the user: an entry per moved tree and
// one per process left (never frozen, with its reason), and one sentence. Host-free and pure.
import { evacuationTrigger, type EvacuationResult } from '../../automatic/evacuate';
import { notStartedResult } from '../../migration/notStarted';
import type { BatchMember } from './batchMigration';

/** The moved trees first, then those left, named by `nameOf` where the left one has no name. */
export function evacuationMembers(evacuation: EvacuationResult, to: string, nameOf: (pid: number) => string | undefined): BatchMember[] {
  const trigger = evacuationTrigger(evacuation.from);
  const moved = evacuation.results.map((result) => ({ result, name: nameOf(result.sourcePid) }));
  const left = evacuation.left.map(({ pid, name, reason }) => ({
    result: notStartedResult({ pid, from: evacuation.from, to }, reason, { trigger, rolledBack: true, strategyReason: 'Not moved: it was never frozen.' }),
    name: nameOf(pid) ?? name,
    left: true,
  }));
  return [...moved, ...left];
}

/** `Evacuated lab-a: 2 processes moved (to lab-b); 1 left: node (PID 12): it uses io_uring.` */
export function evacuationSummary(evacuation: EvacuationResult & { error?: string }, nameOf: (pid: number) => string | undefined = () => undefined): string {
  if (evacuation.error) return `Evacuating ${evacuation.from} failed: ${trimStop(evacuation.error)}; every process still runs there.`;
  const moved = evacuation.results.filter((r) => r.ok);
  const failed = evacuation.results.filter((r) => !r.ok);
  const what = (pid: number, name?: string) => `${nameOf(pid) ?? name ?? 'process'} (PID ${pid})`;
  const parts = [
    moved.length ? `${count(moved.length)} moved (to ${[...new Set(moved.map((r) => r.to))].join(', ')})` : 'nothing moved',
    ...failed.map((r) => `${what(r.sourcePid)} failed and kept running: ${trimStop(r.error ?? 'no reason given')}`),
  ];
  const left = evacuation.left.map((l) => `${what(l.pid, l.name)}: ${trimStop(l.reason)}`);
  const leftText = left.length ? `; ${left.length} left: ${left.join('; ')}` : '';
  return `Evacuated ${evacuation.from}: ${parts.join('; ')}${leftText}.`;
}

function count(n: number): string {
  return n === 1 ? '1 process' : `${n} processes`;
}

function trimStop(sentence: string): string {
  return sentence.replace(/\.\s*$/, '');
}
