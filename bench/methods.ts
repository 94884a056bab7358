// The ways a process gets from lab-a to lab-b that the bench compares, plus the raw SSH reference.
import { CRIU, DESTINATION, DESTINATION_ADDRESS, SOURCE, exec, now, oneLine, q, ssh, sshConfig } from './lab';
import type { BenchRun, Worker } from './workload';

/** What one migration of a set of workers measured. */
export interface Outcome {
  /** The longest time any one process was frozen: from its dump starting until it runs on lab-b. */
  freezeMs: number;
  totalMs: number;
  /** Checkpoint bytes that travelled. */
  bytes: number;
  /** Phase → ms (for several processes done in parallel: the longest of each phase). */
  phases: Record<string, number>;
  /** Source PID → PID on the destination. */
  destinationPids: Map<number, number>;
  perProcess: { pid: number; freezeMs: number; strategy?: string }[];
  /** The strategy the CLI says it used (all processes), e.g. `post-copy` or `stop-and-copy`. */
  strategy?: string;
  strategyReason?: string;
  /** Wall time of the whole CLI call as the bench saw it (process start, connections, JSON). */
  wallMs?: number;
  /** The CLI's JSON, as printed. */
  raw?: unknown;
}

export class MethodError extends Error {
  constructor(
    message: string,
    /** The method cannot run here at all (feature missing): skip it, with this message as the note. */
    readonly unavailable = false,
  ) {
    super(message);
  }
}

export type MigrationMethod = (run: BenchRun, workers: Worker[], sample: number) => Promise<Outcome>;

/**
 * What a user does by hand, one process after the other: `criu dump --leave-stopped` on lab-a,
 * `scp -r` of the image directory lab-a → lab-b, `criu restore -d` on lab-b, then kill the stopped
 * original and delete the images. Each step is one `ssh` from the root namespace, timed here.
 */
export const baseline: MigrationMethod = async (run, workers, sample) => {
  const dir = `${run.images}/baseline-${sample}`;
  const phases: Record<string, number> = { setup: 0, dump: 0, copy: 0, restore: 0, cleanup: 0 };
  const perProcess: Outcome['perProcess'] = [];
  let bytes = 0;
  const dumped: number[] = [];
  const restored = new Set<number>();
  const t0 = now();
  try {
    let t = now();
    await must(DESTINATION, `mkdir -p ${dir}`, 'mkdir');
    phases.setup = now() - t;
    for (const w of workers) {
      const d = `${dir}/${w.pid}`;
      const tDump = now();
      const dump = await ssh(SOURCE, `mkdir -p ${d} && ${CRIU} dump -t ${w.pid} -D ${d} --leave-stopped -o dump.log && du -sb ${d}`);
      if (dump.code !== 0) {
        throw new MethodError(`criu dump of ${w.pid} failed (exit ${dump.code}): ${await logTail(SOURCE, `${d}/dump.log`)}`);
      }
      dumped.push(w.pid);
      bytes += Number(dump.stdout.trim().split(/\s+/)[0]) || 0;
      const tCopy = now();
      await must(SOURCE, `scp -q -r ${run.hostToHostSsh} ${d} ${DESTINATION_ADDRESS}:${dir}/`, 'scp');
      const tRestore = now();
      let restore = await ssh(DESTINATION, `${CRIU} restore -d -D ${d} -o restore.log`);
      if (restore.code !== 0 && (await pidTakenByOurs(run, w.pid))) {
        // A straggler of this run holds the PID on lab-b: kill it and try once more (counted in the freeze).
        await run.kill(DESTINATION, [w.pid]);
        restore = await ssh(DESTINATION, `${CRIU} restore -d -D ${d} -o restore.log`);
      }
      if (restore.code !== 0) {
        throw new MethodError(`criu restore of ${w.pid} failed (exit ${restore.code}): ${await logTail(DESTINATION, `${d}/restore.log`)}`);
      }
      restored.add(w.pid);
      const tDone = now();
      phases.dump += tCopy - tDump;
      phases.copy += tRestore - tCopy;
      phases.restore += tDone - tRestore;
      perProcess.push({ pid: w.pid, freezeMs: tDone - tDump });
    }
    t = now();
    await Promise.all([must(SOURCE, `kill -KILL ${dumped.join(' ')}; rm -rf ${dir}`, 'cleanup'), must(DESTINATION, `rm -rf ${dir}`, 'cleanup')]);
    phases.cleanup = now() - t;
  } catch (err) {
    // Like a careful user: the originals that were not restored continue where they were.
    const resume = dumped.filter((p) => !restored.has(p));
    if (resume.length) await ssh(SOURCE, `kill -CONT ${resume.join(' ')}`);
    await Promise.all([ssh(SOURCE, `rm -rf ${dir}`), ssh(DESTINATION, `rm -rf ${dir}`)]);
    throw err;
  }
  const totalMs = now() - t0;
  return {
    freezeMs: Math.max(...perProcess.map((p) => p.freezeMs)),
    totalMs,
    bytes,
    phases,
    destinationPids: new Map(workers.map((w) => [w.pid, w.pid])),
    perProcess,
  };
};

export async function must(host: string, script: string, what: string, options: { kept?: boolean } = {}): Promise<string> {
  const r = await ssh(host, script, options);
  if (r.code !== 0) throw new MethodError(`${what} on ${host} failed (exit ${r.code}): ${oneLine(r.stderr || r.stdout)}`);
  return r.stdout;
}

export async function logTail(host: string, file: string): Promise<string> {
  const r = await ssh(host, `grep -E 'Error|error' ${q(file)} | tail -n 3`);
  return oneLine(r.stdout || '(no log)');
}

async function pidTakenByOurs(run: BenchRun, pid: number): Promise<boolean> {
  const r = await ssh(DESTINATION, `tr '\\0' ' ' < /proc/${pid}/cmdline 2>/dev/null | grep -q ${q(`bench-${run.id}/`)}`);
  return r.code === 0;
}

/** Whether this procmig accepts several PIDs in one `migrate` (from its help). */
export async function cliTakesSeveralPids(cli: string): Promise<boolean> {
  const r = await exec('node', [cli, 'migrate', '--help']);
  const usage = r.stdout.split('\n').find((l) => /Usage:/.test(l)) ?? '';
  return /\.\.\.|…/.test(usage);
}

/** `procmig migrate <pids…> --from lab-a --to lab-b --strategy <s> --json`, as a user scripts it. */
export function viaCli(cli: string, strategy: 'stop-and-copy' | 'post-copy' | 'auto'): MigrationMethod {
  return async (_run, workers) => {
    const pids = workers.map((w) => String(w.pid));
    const args = [cli, '--ssh-config', sshConfig, 'migrate', ...pids, '--from', SOURCE, '--to', DESTINATION, '--strategy', strategy, '--json'];
    const t0 = now();
    const r = await exec('node', args, { timeoutMs: 15 * 60_000 });
    const wallMs = now() - t0;
    const json = parseJson(r.stdout);
    if (!json) {
      const why = oneLine(r.stderr || r.stdout || `exit ${r.code}`);
      throw new MethodError(`procmig exited ${r.code} without a result: ${why}`, /too many arguments|unknown option/i.test(why));
    }
    return outcomeOf(json, strategy, wallMs);
  };
}

/** A migration's or a batch's result as `procmig migrate --json` prints it (one object per
 * call: the engine's MigrationResult or BatchResult), as an Outcome; throws when it failed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function outcomeOf(json: any, strategy: string, wallMs: number): Outcome {
  if (!json.ok) {
    const why = String(json.error ?? 'no error given');
    throw new MethodError(`procmig: ${why}${json.rolledBack ? ' (rolled back)' : ''}`, strategy === 'post-copy' && /not (available|implemented|supported)|unavailable/i.test(why));
  }
  const processes: CliResult[] = Array.isArray(json.processes) ? json.processes : [json];
  const phases: Record<string, number> = {};
  for (const p of processes) {
    for (const [name, ms] of Object.entries(p.phases ?? {})) phases[name] = Math.max(phases[name] ?? 0, Number(ms));
  }
  const strategies = [...new Set(processes.map((p) => p.strategy).filter(Boolean))];
  return {
    freezeMs: Number(json.freezeMs),
    totalMs: Number(json.totalMs),
    bytes: Number(json.bytes),
    phases,
    destinationPids: new Map(processes.map((p) => [Number(p.sourcePid), Number(p.destinationPid ?? p.sourcePid)])),
    perProcess: processes.map((p) => ({ pid: Number(p.sourcePid), freezeMs: Number(p.freezeMs), strategy: p.strategy })),
    strategy: strategies.join('+') || undefined,
    strategyReason: [...new Set(processes.map((p) => p.strategyReason).filter(Boolean))].join(' / ') || undefined,
    wallMs,
    raw: json,
  };
}

interface CliResult {
  sourcePid?: number;
  destinationPid?: number;
  strategy?: string;
  strategyReason?: string;
  freezeMs?: number;
  phases?: Record<string, number>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseJson(text: string): any {
  const line = text.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
}

/** The same number of bytes through two SSH sessions from the root namespace: lab-a → here → lab-b. */
export async function rawSshViaRoot(bytes: number): Promise<number> {
  const s = (host: string, cmd: string) => `ssh -F ${q(sshConfig)} -o BatchMode=yes ${host} ${q(cmd)}`;
  const t0 = now();
  const r = await exec('bash', ['-o', 'pipefail', '-c', `${s(SOURCE, `head -c ${bytes} /dev/zero`)} | ${s(DESTINATION, 'cat >/dev/null')}`]);
  const ms = now() - t0;
  if (r.code !== 0) throw new MethodError(`raw ssh via the root namespace failed: ${oneLine(r.stderr)}`);
  return ms;
}

/** Where the bytes of a raw ssh land on lab-b: discarded, or kept in a process's memory until
 * the last one came, as a migration's must (the destination faults in fresh memory for them). */
const SINKS = {
  discard: 'cat >/dev/null',
  memory: `perl -e 'my $b = ""; 1 while sysread(STDIN, $b, 1 << 20, length $b); exit(length $b ? 0 : 1)'`,
};

/** The same bytes host to host, lab-a → lab-b in one SSH session (the path scp takes), timed on lab-a. */
export async function rawSshHostToHost(run: BenchRun, bytes: number, sink: keyof typeof SINKS = 'discard'): Promise<number> {
  const r = await ssh(
    SOURCE,
    `s=$(date +%s%N); head -c ${bytes} /dev/zero | ssh ${run.hostToHostSsh} ${DESTINATION_ADDRESS} ${q(SINKS[sink])} || exit 1; e=$(date +%s%N); echo $(( (e - s) / 1000 ))`,
  );
  if (r.code !== 0) throw new MethodError(`raw ssh lab-a → lab-b failed: ${oneLine(r.stderr)}`);
  return Number(r.stdout.trim()) / 1000;
}
