// What protection says: the failover question, the survivor question, the row's and the status
// bar's words, and the history entry of a failover. Host-free and pure.
import type { MigrationResult, ProtectionCheckpoint, ProtectionFailover } from '../../migration/api';
import { formatMs } from '../common/processForest';

/** `14:02` in this machine's time zone (the format people read on a clock). */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "lab-a has not answered for 60 s: restore train.py from its 14:02 checkpoint on lab-b?" */
export function failoverQuestion(lost: { host: string; standby: string; silentForMs: number; checkpointAt: string }, name: string): string {
  return `${lost.host} has not answered for ${Math.round(lost.silentForMs / 1000)} s: restore ${name} from its ${clockTime(lost.checkpointAt)} checkpoint on ${lost.standby}?`;
}

export function survivorQuestion(both: { host: string; standby: string; standbyPid: number }, name: string): string {
  return (
    `${both.host} is back and its copy of ${name} still runs (frozen now), and so does the one restored on ${both.standby} (PID ${both.standbyPid}). ` +
    'Which copy do you keep? The other one is ended.'
  );
}

/** The row's words: `protected on lab-b, checkpoint 14:02 (frozen 85 ms)`. */
export function protectionText(standby: string, last?: ProtectionCheckpoint): string {
  return last ? `protected on ${standby}, checkpoint ${clockTime(last.at)} (frozen ${formatMs(last.freezeMs)})` : `protected on ${standby}, first checkpoint under way`;
}

/** A failover as a history entry's result: an automatic move from the lost host to the standby. */
export function failoverResult(event: ProtectionFailover, sourcePid: number, startedAt: string): MigrationResult {
  const lost = event.workLostMs !== undefined ? `, ${formatMs(event.workLostMs)} of work lost` : '';
  return {
    ok: event.ok,
    from: event.host,
    to: event.standby,
    sourcePid,
    destinationPid: event.destinationPid,
    strategy: 'stop-and-copy',
    strategyReason: `Restored from the checkpoint of ${event.checkpointAt ? clockTime(event.checkpointAt) : 'an unknown time'}${lost}.`,
    phases: event.detectionToRunningMs !== undefined ? { restore: event.detectionToRunningMs } : {},
    freezeMs: 0,
    totalMs: event.detectionToRunningMs ?? 0,
    bytes: 0,
    options: [],
    startedAt,
    ...(event.error ? { error: event.error } : {}),
    trigger: `failover: ${event.host} stopped answering`,
  };
}

/** The notification after a failover. */
export function failoverSummary(event: ProtectionFailover, name: string): string {
  if (!event.ok) return `Restoring ${name} on ${event.standby} failed: ${event.error ?? 'no reason given'}`;
  const at = event.checkpointAt ? ` from its ${clockTime(event.checkpointAt)} checkpoint` : '';
  const lost = event.workLostMs !== undefined ? ` (${formatMs(event.workLostMs)} of work lost)` : '';
  const took = event.detectionToRunningMs !== undefined ? `, ${formatMs(event.detectionToRunningMs)} after the loss was detected` : '';
  return `${name} runs on ${event.standby} again as PID ${event.destinationPid ?? '?'}${at}${lost}${took}.`;
}
