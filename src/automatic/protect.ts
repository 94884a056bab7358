// Protect a process: a checkpoint every interval, streamed to a standby host while the process
// runs on (a short freeze each time), and a failover to the newest one when its host is lost.
// The standby keeps the newest complete checkpoint, and the one before only until the new one is
// complete. Never two running copies without the user's say: failover asks unless it was made
// automatic, and an old copy found running when its host answers again is frozen (SIGSTOP) for
// the user to pick which copy stays.
import { formatBytes } from '../common/format';
import { sleep } from '../common/sleep';
import type { Protection, StandbyCheckpoint } from '../migration/api';

export interface ProtectRequest {
  pid: number;
  from: string;
  standby: string;
  everyS: number;
  failover: 'ask' | 'auto';
  /** How long `from` may not answer before it counts as lost. */
  lostAfterS: number;
}

export type ProtectEvent =
  | { event: 'checkpoint'; ok: true; at: string; pid: number; from: string; standby: string; freezeMs: number; totalMs: number; bytes: number; transfer?: string; options?: { option: string; reason: string }[] }
  | { event: 'checkpoint'; ok: false; at: string; error: string }
  | { event: 'lost'; at: string; host: string; reason: string; checkpointAgeS?: number }
  /** `workLostS`: the work between the checkpoint and the last answer of its host, lost at
   * least (what ran after that answer is not known); `detectToRunningMs`: from the loss's
   * detection until the process runs on the standby. */
  | { event: 'failover'; ok: boolean; at: string; from: string; standby: string; pid?: number; checkpointAt?: string; workLostS?: number; detectToRunningMs?: number; error?: string }
  | { event: 'returned'; at: string; host: string; pid: number; copy: 'frozen' | 'gone'; kept?: 'standby' | 'original' }
  | { event: 'ended'; at: string; reason: string };

export interface ProtectDeps {
  protection: Protection;
  onEvent(event: ProtectEvent): void;
  /** Asks the user a yes/no question; undefined where nobody can answer. */
  confirm?(question: string): Promise<boolean>;
  /** Between checkpoints and probes; tests shorten it. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A probe of a host that does not answer within this counts as no answer. */
const PROBE_TIMEOUT_MS = 5000;
const PROBE_EVERY_MS = 1000;

const now = () => new Date().toISOString();

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Runs until `signal` aborts (protection ends: the standby's images are deleted), the process
 * ends on its host, or a failover is settled. */
export async function protect(deps: ProtectDeps, request: ProtectRequest, signal?: AbortSignal): Promise<void> {
  const { protection, onEvent } = deps;
  const pause = deps.sleep ?? sleep;
  const { pid, from, standby } = request;
  const identity = await protection.started(from, pid);
  if (identity.start === 'gone') throw new Error(`Process ${pid} does not run on ${from}.`);
  const noRoom = await protection.roomProblem({ pid, from, to: standby });
  if (noRoom) throw new Error(noRoom);
  let kept: StandbyCheckpoint | undefined;
  let lastAnswer = Date.now();
  let nextCheckpoint = Date.now();
  let first = true;
  let failedOver = false;

  const discard = async (checkpoint: StandbyCheckpoint | undefined) => {
    if (checkpoint) await protection.discard(checkpoint).catch(() => undefined);
  };

  try {
    while (!signal?.aborted) {
      const seen = await withTimeout(protection.started(from, pid), PROBE_TIMEOUT_MS).catch(() => undefined);
      if (seen) {
        lastAnswer = Date.now();
        if (seen.boot === identity.boot && seen.start !== identity.start) {
          onEvent({ event: 'ended', at: now(), reason: `Process ${pid} ended on ${from}, which runs on: there is nothing to fail over, and protection ends.` });
          return;
        }
        if (seen.boot !== identity.boot) {
          if (await failOver(`${from} restarted, and process ${pid} with it`)) return;
        }
      } else if (Date.now() - lastAnswer >= request.lostAfterS * 1000) {
        if (await failOver(`${from} has not answered for ${request.lostAfterS} s`)) return;
        lastAnswer = Date.now(); // declined: ask again after another wait
      }
      if (seen && Date.now() >= nextCheckpoint) {
        nextCheckpoint = Date.now() + request.everyS * 1000;
        const taken = await protection.checkpoint({ pid, from, to: standby }, { signal });
        if (taken.ok) {
          const { checkpoint } = taken;
          // The new one is complete: only now does the one before go.
          await discard(kept);
          kept = checkpoint;
          lastAnswer = Date.now(); // the host answered for the whole checkpoint
          onEvent({ event: 'checkpoint', ok: true, at: new Date(checkpoint.takenAt).toISOString(), pid, from, standby, freezeMs: checkpoint.freezeMs, totalMs: checkpoint.totalMs, bytes: checkpoint.bytes, ...(checkpoint.transfer ? { transfer: checkpoint.transfer } : {}), ...(first ? { options: checkpoint.options } : {}) });
          first = false;
        } else if (!signal?.aborted) {
          onEvent({ event: 'checkpoint', ok: false, at: now(), error: taken.error });
        }
      }
      await pause(Math.min(PROBE_EVERY_MS, Math.max(0, nextCheckpoint - Date.now())) || PROBE_EVERY_MS, signal);
    }
  } finally {
    if (!failedOver) await discard(kept);
  }

  /** Resolves true once the process runs on the standby and the old host's copy is settled
   * (or the user stopped), false when the user declined. */
  async function failOver(reason: string): Promise<boolean> {
    const detected = Date.now();
    const checkpoint = kept;
    onEvent({ event: 'lost', at: now(), host: from, reason, ...(checkpoint ? { checkpointAgeS: Math.round((detected - checkpoint.takenAt) / 1000) } : {}) });
    if (!checkpoint) {
      onEvent({ event: 'failover', ok: false, at: now(), from, standby, error: `${reason}, and no checkpoint of process ${pid} is complete on ${standby} yet: there is nothing to restore.` });
      return false;
    }
    const time = new Date(checkpoint.takenAt).toLocaleTimeString();
    if (request.failover === 'ask') {
      if (!deps.confirm) {
        onEvent({ event: 'failover', ok: false, at: now(), from, standby, error: `nobody here can answer whether to restore it on ${standby}: protect it with --failover auto, or from a terminal or VS Code.` });
        return false;
      }
      const yes = await deps.confirm(`${reason}: restore process ${pid} from its ${time} checkpoint on ${standby}?`);
      if (!yes) return false;
    }
    try {
      const restored = await protection.restore(checkpoint);
      failedOver = true;
      onEvent({
        event: 'failover',
        ok: true,
        at: now(),
        from,
        standby,
        pid: restored.pid,
        checkpointAt: new Date(checkpoint.takenAt).toISOString(),
        workLostS: Math.round(Math.max(0, lastAnswer - checkpoint.takenAt) / 1000),
        detectToRunningMs: Date.now() - detected,
      });
      await discard(checkpoint);
      kept = undefined;
      await settleOldCopy(restored.pid);
      return true;
    } catch (err) {
      onEvent({ event: 'failover', ok: false, at: now(), from, standby, error: `Restoring process ${pid} on ${standby} failed: ${(err as Error).message}` });
      return false;
    }
  }

  /** Waits for the old host; its copy, if it still runs, is frozen and the user picks. */
  async function settleOldCopy(restoredPid: number): Promise<void> {
    while (!signal?.aborted) {
      const seen = await withTimeout(protection.started(from, pid), PROBE_TIMEOUT_MS).catch(() => undefined);
      if (seen) {
        const alive = seen.boot === identity.boot && seen.start === identity.start;
        if (!alive) {
          onEvent({ event: 'returned', at: now(), host: from, pid, copy: 'gone' });
          return;
        }
        await protection.signal(from, pid, 'STOP');
        const keepStandby = await deps.confirm?.(
          `${from} answers again and process ${pid} still runs there; it is frozen now. Keep the copy on ${standby} (PID ${restoredPid}) and end the one on ${from}? (no: keep ${from}'s and end ${standby}'s)`,
        );
        if (keepStandby === undefined) {
          onEvent({ event: 'returned', at: now(), host: from, pid, copy: 'frozen' });
          return;
        }
        const [endHost, endPid, keepHost, keepPid] = keepStandby ? [from, pid, standby, restoredPid] : [standby, restoredPid, from, pid];
        await protection.signal(endHost, endPid, 'KILL');
        if (!keepStandby) await protection.signal(keepHost, keepPid, 'CONT');
        onEvent({ event: 'returned', at: now(), host: from, pid, copy: 'frozen', kept: keepStandby ? 'standby' : 'original' });
        return;
      }
      await pause(PROBE_EVERY_MS, signal);
    }
  }
}

/** What `event` means, in one line (the CLI prints it, the extension shows and logs it). */
export function describeProtectEvent(e: ProtectEvent): string {
  switch (e.event) {
    case 'checkpoint':
      if (!e.ok) return `Checkpoint failed: ${e.error}`;
      return `Checkpoint of ${e.pid} on ${e.from} kept on ${e.standby}: frozen ${e.freezeMs} ms, ${formatBytes(e.bytes)}${e.transfer ? ` (${e.transfer})` : ''}, ${e.totalMs} ms in all`;
    case 'lost':
      return `${e.reason}${e.checkpointAgeS !== undefined ? `; the newest checkpoint is ${e.checkpointAgeS} s old` : ''}`;
    case 'failover':
      return e.ok
        ? `Failed over: running on ${e.standby} as PID ${e.pid}, from the checkpoint of ${new Date(e.checkpointAt!).toLocaleTimeString()} (${e.workLostS} s of work lost), ${e.detectToRunningMs} ms from detection to running.`
        : `No failover: ${e.error}`;
    case 'returned':
      if (e.copy === 'gone') return `${e.host} answers again; its copy of ${e.pid} is gone, so only the one on the standby runs.`;
      return e.kept
        ? `${e.host} answers again with its copy of ${e.pid} running: kept the ${e.kept === 'standby' ? "standby's copy" : `copy on ${e.host}`}, ended the other.`
        : `${e.host} answers again with its copy of ${e.pid} running: it is frozen (SIGSTOP) now; end one of the two copies (kill -KILL on one host, kill -CONT on the other).`;
    case 'ended':
      return e.reason;
  }
}
