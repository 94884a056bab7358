// What an evacuation leaves in the history and says to the user: one entry per moved tree and one
// per process left (never frozen, with its reason), all in one batch. Host-free and pure.
import { AUTO_HOST, type EvacuationResult, type MigrationResult } from '../../migration/api';
import type { EntryDetails } from '../report/history';

export interface EvacuationEntry {
  result: MigrationResult;
  name?: string;
  details: EntryDetails;
}

export function evacuationTrigger(from: string): string {
  return `evacuation of ${from}`;
}

/** The history entries of `evacuation`, moved first, then those left, in one batch. */
export function evacuationEntries(
  evacuation: EvacuationResult,
  to: string | undefined,
  nameOf: (pid: number) => string | undefined,
  startedAt = new Date().toISOString(),
): EvacuationEntry[] {
  const batchId = `${startedAt}|evacuate|${evacuation.from}`;
  const details = { batchId, batchLabel: `Evacuation of ${evacuation.from}` };
  const trigger = evacuationTrigger(evacuation.from);
  const moved = evacuation.processes.map((result) => ({ result: { ...result, trigger: result.trigger ?? trigger }, name: nameOf(result.sourcePid), details }));
  const left = evacuation.left.map(({ pid, name, reason }) => ({
    result: leftResult(evacuation.from, to ?? AUTO_HOST, pid, reason, trigger, startedAt),
    name,
    details: { ...details, left: true },
  }));
  return [...moved, ...left];
}

function leftResult(from: string, to: string, pid: number, reason: string, trigger: string, startedAt: string): MigrationResult {
  return {
    ok: false,
    from,
    to,
    sourcePid: pid,
    strategy: 'stop-and-copy',
    strategyReason: 'Not moved: it was never frozen.',
    phases: {},
    freezeMs: 0,
    totalMs: 0,
    bytes: 0,
    options: [],
    startedAt,
    error: reason,
    rolledBack: true,
    trigger,
  };
}

/** One notification: `Evacuated lab-a: 2 processes moved (to lab-b, lab-c); 1 left: sshd (PID 12): …`. */
export function evacuationSummary(evacuation: EvacuationResult): string {
  const moved = evacuation.processes.filter((p) => p.ok);
  const failed = evacuation.processes.filter((p) => !p.ok);
  const where = [...new Set(moved.map((p) => p.to))].join(', ');
  const parts = [
    moved.length ? `${count(moved.length)} moved (to ${where})` : 'nothing moved',
    ...failed.map((p) => `PID ${p.sourcePid} failed and kept running: ${trimStop(p.error ?? 'no reason given')}`),
  ];
  const left = evacuation.left.map((l) => `${l.name} (PID ${l.pid}): ${trimStop(l.reason)}`);
  const leftText = left.length ? `; ${left.length} left: ${left.join('; ')}` : '';
  const error = evacuation.error && !moved.length && !left.length ? ` ${evacuation.error}` : '';
  return `Evacuated ${evacuation.from}: ${parts.join('; ')}${leftText}.${error}`;
}

function count(n: number): string {
  return n === 1 ? '1 process' : `${n} processes`;
}

function trimStop(sentence: string): string {
  return sentence.replace(/\.\s*$/, '');
}
