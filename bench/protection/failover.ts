// A crash of lab-a under a protected process, timed from outside procmig: a watcher on lab-b,
// connected before the crash, signals the process until it answers there; procmig's own events
// say when it noticed (`lost`) and when the process ran (`failover`). The lab hosts share one
// kernel, so lab-b's `date` and this machine's clock are the same clock.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { round } from '../cli';
import { DESTINATION, SOURCE, exec, now, oneLine, repo, sshConfig } from '../lab';
import type { BenchRun, Worker } from '../workload';
import type { ProtectCli } from './protectCli';

export interface FailoverRecord {
  ok: boolean;
  error?: string;
  lostAfterS: number;
  crashAt: string;
  /** Crash → procmig's `lost` event: mostly the --lost-after wait. */
  crashToLostMs?: number;
  /** procmig's own: from detection until the process runs on the standby. */
  detectToRunningMs?: number;
  /** Crash → procmig's `failover` event. */
  crashToRunningMs?: number;
  /** Crash → the process answers a signal on lab-b (the watcher). */
  crashToAnswerMs?: number;
  /** procmig's: the work between the checkpoint and the host's last answer. */
  workLostS?: number;
  /** The work that really went: the crash minus the checkpoint's time. */
  crashMinusCheckpointS?: number;
  pid?: number;
  bootMs?: number;
  /** procmig's `returned` event once lab-a is back: `gone` means no second copy. */
  returned?: string;
}

/** lab-a's crash and boot (`scripts/lab.sh`); remembers a crash until the boot, so that every
 * way out of the bench boots it again. */
export class LabHost {
  private crashed = false;
  /** A boot under way: a second caller (Ctrl-C during a failover) waits for the same one. */
  private booting?: Promise<number>;
  constructor(readonly name = SOURCE) {}

  async crash(): Promise<void> {
    this.crashed = true;
    await lab('crash', this.name);
  }

  /** Boots the host if this bench crashed it; returns how long the boot took. */
  async bootIfCrashed(): Promise<number | undefined> {
    if (!this.crashed) return undefined;
    this.booting ??= (async () => {
      const t0 = now();
      await lab('boot', this.name);
      this.crashed = false;
      return now() - t0;
    })().finally(() => (this.booting = undefined));
    return this.booting;
  }
}

export async function lab(...args: string[]): Promise<string> {
  const r = await exec('sh', [path.join(repo, 'scripts', 'lab.sh'), ...args], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`lab.sh ${args.join(' ')} exited ${r.code}: ${oneLine(r.stderr || r.stdout)}`);
  return r.stdout.trim();
}

/** Crashes lab-a under `protect`, waits for its failover to lab-b, boots lab-a again and waits
 * for procmig to settle the old copy. */
export async function crashAndFailOver(run: BenchRun, worker: Worker, protect: ProtectCli, host: LabHost, lostAfterS: number): Promise<FailoverRecord> {
  const watcher = watchAnswer(run, worker.pid, lostAfterS + 120);
  await watcher.ready;
  const after = protect.events.length;
  const crashAt = Date.now();
  const record: FailoverRecord = { ok: false, lostAfterS, crashAt: new Date(crashAt).toISOString() };
  const since = (at: unknown) => Date.parse(String(at)) - crashAt;
  try {
    await host.crash();
    const { event: lost } = await protect.next('lost', after, (lostAfterS + 60) * 1000);
    record.crashToLostMs = since(lost.at);
    const { event: failover } = await protect.next('failover', after, 180_000);
    if (!failover.ok) throw new Error(`procmig's failover failed: ${String(failover.error)}`);
    Object.assign(record, {
      detectToRunningMs: Number(failover.detectToRunningMs),
      crashToRunningMs: since(failover.at),
      workLostS: Number(failover.workLostS),
      crashMinusCheckpointS: -since(failover.checkpointAt) / 1000,
      pid: Number(failover.pid),
    });
    if (record.pid !== worker.pid) throw new Error(`restored as PID ${record.pid}, not ${worker.pid}: the watcher could not time it`);
    record.crashToAnswerMs = round((await watcher.answered) - crashAt);
  } catch (err) {
    record.error = err instanceof Error ? err.message : String(err);
  } finally {
    watcher.stop();
    const bootMs = await host.bootIfCrashed();
    if (bootMs !== undefined) record.bootMs = round(bootMs);
  }
  if (record.error) return record;
  // procmig probes lab-a again, finds its copy gone with the crash, and ends.
  const { event: returned } = await protect.next('returned', after, 120_000).catch((err: Error) => ({ event: { copy: `none: ${err.message}` } as Record<string, unknown> }));
  record.returned = String(returned.copy);
  record.ok = record.returned === 'gone';
  if (!record.ok) record.error = `after the boot, procmig's returned event says: ${record.returned}`;
  return record;
}

/** An `ssh lab-b` that prints `ready`, then lab-b's epoch (ns) when `pid` answers there. */
function watchAnswer(run: BenchRun, pid: number, limitS: number) {
  const child = spawn('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', DESTINATION, `echo ready\n${run.answers(pid, limitS)}\ndate +%s%N`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const lines = new Promise<string[]>((resolve) => child.on('close', () => resolve(out.split('\n'))));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('close', (code) => reject(new Error(`the watcher on ${DESTINATION} exited ${code}: ${oneLine(err)}`)));
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const answered = lines.then((l) => {
    const ns = l.find((x) => /^\d{16,}$/.test(x.trim()));
    if (!ns) throw new Error(`process ${pid} did not answer on ${DESTINATION} within ${limitS} s: ${oneLine(err)}`);
    return Number(BigInt(ns.trim()) / 1000n) / 1000;
  });
  answered.catch(() => undefined);
  return { ready, answered, stop: () => child.kill('SIGTERM') };
}
