// node --import tsx bench/protection.ts [--sizes 64,512,2048] [--every 10] [--checkpoints 3] [--no-failover] [--name protection]
//
// The cost of `procmig protect` in the lab: the freeze of each periodic checkpoint of a process
// holding SIZE MiB, as a share of the interval (the process runs the rest of the time, while the
// images travel to the standby), and the failover time: lab-a crashes (`lab.sh crash`), and the
// time from detecting the loss until the process runs on lab-b, the work lost (the checkpoint's
// age), and from the crash itself until it runs there (detection included: --lost-after).
// Writes bench/results/protection.{json,md}. Benchmarks are not tests: nothing here asserts.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DESTINATION, SOURCE, repo, sshConfig } from './lab';
import { BenchRun } from './workload';

interface Flags {
  sizes: number[];
  every: number;
  checkpoints: number;
  lostAfter: number;
  failover: boolean;
  /** bench/results/<name>.{json,md} */
  name: string;
}

function parse(argv: string[]): Flags {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const every = Number(get('every') ?? 10);
  return {
    sizes: (get('sizes') ?? '64,512,2048').split(',').map(Number),
    every,
    checkpoints: Number(get('checkpoints') ?? 3),
    lostAfter: Number(get('lost-after') ?? Math.max(4, every)),
    failover: !argv.includes('--no-failover'),
    name: get('name') ?? 'protection',
  };
}

interface Checkpoint {
  generation: number;
  freezeMs: number;
  totalMs: number;
  bytes: number;
  error?: string;
}

interface Failover {
  ok: boolean;
  workLostMs?: number;
  detectionToRunningMs?: number;
  destinationPid?: number;
  error?: string;
}

interface SizeResult {
  mib: number;
  everySeconds: number;
  checkpoints: Checkpoint[];
  medianFreezeMs: number;
  /** The median freeze as a share of the interval, in percent. */
  freezeSharePercent: number;
  medianTotalMs: number;
  failover?: Failover & { crashToRunningMs: number };
}

const cli = path.join(repo, 'dist', 'procmig.js');
const lab = (...args: string[]) => execFileSync('sh', [path.join(repo, 'scripts', 'lab.sh'), ...args], { stdio: 'pipe' });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : NaN;
}

/** Protects `pid` until `checkpoints` have completed; then crashes lab-a (`failover`) or stops. */
async function protectOnce(pid: number, flags: Flags, failover: boolean): Promise<Pick<SizeResult, 'checkpoints' | 'failover'>> {
  const args = [cli, '--ssh-config', sshConfig, 'protect', String(pid), '--from', SOURCE, '--standby', DESTINATION, '--every', String(flags.every), '--lost-after', String(flags.lostAfter), '--failover', 'auto', '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Interrupted, the bench ends protection first: it deletes the checkpoints on the standby.
  const interrupted = () => child.kill('SIGINT');
  process.once('SIGTERM', interrupted);
  child.on('exit', () => process.off('SIGTERM', interrupted));
  const checkpoints: Checkpoint[] = [];
  let failed: Failover | undefined;
  let failedAt = 0;
  let stderr = '';
  let buffer = '';
  let wake = () => undefined as void;
  child.stdout.on('data', (d: Buffer) => {
    const lines = (buffer + d.toString()).split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line);
      if (event.kind === 'checkpoint') checkpoints.push(event);
      else if (!failed) (failed = event), (failedAt = Date.now());
      wake();
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (resolve(code), wake())));
  const until = async (check: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!check() && child.exitCode === null && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 500)));
    if (!check()) throw new Error(`procmig protect: ${stderr.trim() || 'no event in time'}`);
  };
  try {
    await until(() => checkpoints.filter((c) => !c.error).length >= flags.checkpoints, (flags.checkpoints + 2) * flags.every * 1000 + 300_000);
    if (!failover) return { checkpoints };
    const crashedAt = Date.now();
    lab('crash', SOURCE);
    await until(() => failed !== undefined, flags.lostAfter * 1000 + 120_000);
    lab('boot', SOURCE);
    await exited;
    return { checkpoints, failover: { ...failed!, crashToRunningMs: failedAt - crashedAt } };
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await exited;
    }
  }
}

async function main(): Promise<void> {
  const flags = parse(process.argv.slice(2));
  if (!existsSync(cli)) execFileSync('node', [path.join(repo, 'esbuild.config.mjs')], { cwd: repo, stdio: 'inherit' });
  lab('up');
  const run = new BenchRun();
  await run.setUp();
  const results: SizeResult[] = [];
  try {
    for (const [i, mib] of flags.sizes.entries()) {
      const [worker] = await run.startWorkers(mib, 1);
      // The failover once, with the smallest size: it crashes lab-a, which takes everything on it.
      const withFailover = flags.failover && i === 0;
      process.stderr.write(`protect: ${mib} MiB, a checkpoint every ${flags.every} s${withFailover ? ', then lab-a crashes' : ''}\n`);
      const { checkpoints, failover } = await protectOnce(worker.pid, flags, withFailover);
      const good = checkpoints.filter((c) => !c.error);
      const medianFreezeMs = median(good.map((c) => c.freezeMs));
      results.push({
        mib,
        everySeconds: flags.every,
        checkpoints,
        medianFreezeMs,
        freezeSharePercent: Number(((100 * medianFreezeMs) / (flags.every * 1000)).toFixed(2)),
        medianTotalMs: median(good.map((c) => c.totalMs)),
        failover,
      });
      if (failover?.destinationPid) execFileSync('ssh', ['-F', sshConfig, DESTINATION, `kill -KILL ${failover.destinationPid}`]);
      await run.kill(SOURCE, [worker.pid]);
      if (withFailover) await run.setUp(); // lab-a booted empty: its /tmp is new
      write(flags, results); // after each size: a long run cut short keeps what it measured
    }
  } finally {
    await run.tearDown();
  }
  process.stdout.write(report(flags, results));
}

function write(flags: Flags, results: SizeResult[]): void {
  const outDir = path.join(repo, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `${flags.name}.json`), `${JSON.stringify({ date: new Date().toISOString(), flags, results }, null, 2)}\n`);
  writeFileSync(path.join(outDir, `${flags.name}.md`), report(flags, results));
}

function report(flags: Flags, results: SizeResult[]): string {
  const lines = [
    `# Protection overhead and failover (${new Date().toISOString().slice(0, 10)})`,
    '',
    `A process holding SIZE MiB on ${SOURCE}, checkpointed every ${flags.every} s onto ${DESTINATION} (\`procmig protect --failover auto\`); ${flags.checkpoints} checkpoints per size, medians.`,
    '',
    '| size | freeze per checkpoint | share of the interval | checkpoint until on the standby | bytes |',
    '|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.mib} MiB | ${r.medianFreezeMs} ms | ${r.freezeSharePercent} % | ${(r.medianTotalMs / 1000).toFixed(1)} s | ${((r.checkpoints.at(-1)?.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB |`),
    '',
  ];
  const failed = results.find((r) => r.failover);
  if (failed?.failover) {
    const f = failed.failover;
    lines.push(
      `Failover (${failed.mib} MiB, lost after ${flags.lostAfter} s of silence): ${f.ok ? `detection → running on ${DESTINATION} ${f.detectionToRunningMs} ms; work lost (the checkpoint's age at detection) ${((f.workLostMs ?? 0) / 1000).toFixed(1)} s; crash → running ${(f.crashToRunningMs / 1000).toFixed(1)} s (detection included)` : `failed: ${f.error}`}.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

main().catch((err) => {
  process.stderr.write(`bench/protection: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
