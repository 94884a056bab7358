// Protection by hand, as a user scripts it with CRIU: `criu dump --leave-running` into a local
// 0700 directory on lab-a, `tar | ssh` of it to lab-b, the local copy deleted; after a loss,
// `criu restore -d` of the kept checkpoint on lab-b. One `ssh` per step from the root namespace;
// the dump, the stream and the restore are also timed on the host itself (`date` around them),
// so the freeze is the dump alone, without the round trip.
import { CRIU, DESTINATION, DESTINATION_ADDRESS, SOURCE, now, oneLine, q, ssh } from '../lab';
import { logTail } from '../methods';
import type { BenchRun, Worker } from '../workload';

export interface HandCheckpoint {
  /** On lab-b, where it is kept. */
  dir: string;
  /** `criu dump --leave-running` on lab-a: the process is frozen for (at most) this long. */
  dumpMs: number;
  /** `tar | ssh` lab-a → lab-b. */
  streamMs: number;
  /** Every step from the root namespace, as typed: mkdir + dump, stream, delete the local copy. */
  totalMs: number;
  bytes: number;
}

export interface HandRestore {
  /** `criu restore -d` on lab-b, timed there. */
  restoreMs: number;
  /** From the restore's start until the process answers a signal on lab-b. */
  answerMs: number;
  /** The one `ssh` of the restore, from the root namespace. */
  wallMs: number;
}

/** Microseconds of a command, timed on the host: `$(( (e - s) / 1000 ))` after `s=… cmd && e=…`. */
const timedUs = (command: string) => `s=$(date +%s%N) && ${command} && e=$(date +%s%N) && echo $(( (e - s) / 1000 ))`;

export async function checkpointByHand(run: BenchRun, worker: Worker, seq: number): Promise<HandCheckpoint> {
  const dir = `${run.images}/hand-${worker.pid}-${seq}`;
  const t0 = now();
  try {
    const dump = await ssh(SOURCE, `mkdir -m 0700 ${dir} && ${timedUs(`${CRIU} dump -t ${worker.pid} -D ${dir} --leave-running -o dump.log`)} && du -sb ${dir} | cut -f1`);
    if (dump.code !== 0) throw new Error(`criu dump --leave-running of ${worker.pid} failed (exit ${dump.code}): ${await logTail(SOURCE, `${dir}/dump.log`)}`);
    const [dumpUs, bytes] = dump.stdout.trim().split(/\s+/).map(Number);
    const stream = await ssh(SOURCE, timedUs(`tar -C ${dir} -cf - . | ssh ${run.hostToHostSsh} ${DESTINATION_ADDRESS} ${q(`mkdir -m 0700 ${dir} && tar -C ${dir} -xf -`)}`));
    if (stream.code !== 0) throw new Error(`tar | ssh of the checkpoint to ${DESTINATION} failed (exit ${stream.code}): ${oneLine(stream.stderr)}`);
    const r = await ssh(SOURCE, `rm -rf ${dir}`);
    if (r.code !== 0) throw new Error(`deleting ${dir} on ${SOURCE} failed: ${oneLine(r.stderr)}`);
    return { dir, dumpMs: dumpUs / 1000, streamMs: Number(stream.stdout.trim()) / 1000, totalMs: now() - t0, bytes };
  } catch (err) {
    await Promise.all([ssh(SOURCE, `rm -rf ${dir}`), discardByHand(dir)]);
    throw err;
  }
}

/** Restores a kept checkpoint on lab-b and waits for the process to answer there. The copy keeps
 * running: the caller ends it (endCopy). */
export async function restoreByHand(run: BenchRun, worker: Worker, checkpoint: HandCheckpoint): Promise<HandRestore> {
  const { dir } = checkpoint;
  const t0 = now();
  const r = await ssh(
    DESTINATION,
    `s=$(date +%s%N) && ${CRIU} restore -d -D ${dir} -o restore.log || exit 9\nr=$(date +%s%N)\n${run.answers(worker.pid, 60)}\ne=$(date +%s%N); echo $(( (r - s) / 1000 )) $(( (e - s) / 1000 ))`,
  );
  const wallMs = now() - t0;
  if (r.code === 9) throw new Error(`criu restore -d on ${DESTINATION} failed: ${await logTail(DESTINATION, `${dir}/restore.log`)}`);
  if (r.code !== 0) throw new Error(`process ${worker.pid} restored by hand on ${DESTINATION} did not answer (exit ${r.code}): ${oneLine(r.stderr)}`);
  const [restoreUs, answerUs] = r.stdout.trim().split(/\s+/).map(Number);
  return { restoreMs: restoreUs / 1000, answerMs: answerUs / 1000, wallMs };
}

export async function discardByHand(dir: string): Promise<void> {
  await ssh(DESTINATION, `rm -rf ${dir}`);
}

/** Kills this run's copy of `pid` on `host` and waits until the PID is free again (a restore
 * there later needs it). */
export async function endCopy(run: BenchRun, host: string, pid: number): Promise<void> {
  await run.kill(host, [pid]);
  const r = await ssh(host, `n=0; while [ -e /proc/${pid} ] && [ $n -lt 200 ]; do n=$((n + 1)); sleep 0.05; done; [ ! -e /proc/${pid} ]`);
  if (r.code !== 0) throw new Error(`process ${pid} on ${host} is still there 10 s after SIGKILL`);
}
