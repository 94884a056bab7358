// npm run bench:protect [-- --quick] — what protecting a process costs and what a failover takes,
// procmig protect against doing it with CRIU by hand, in the lab. For each workload (a process
// holding N MiB on lab-a): K checkpoints by hand, each restored once on lab-b; then procmig
// protects it with a checkpoint every S s, and right after its K-th checkpoint lab-a crashes
// (every process on it killed) and boots again once procmig has restored the process on lab-b.
//
//   --sizes 64,512,2048   MiB held by the workloads               (BENCH_SIZES; --quick: 64,512)
//   --every 30            seconds between two checkpoints         (BENCH_EVERY)
//   --checkpoints 3       checkpoints per workload and method     (BENCH_CHECKPOINTS)
//   --lost-after 5        procmig's --lost-after: seconds without an answer before failover
//   --cli head|<commit>|worktree|path/to/procmig.js  the procmig under test (default: built from HEAD)
//
// It crashes lab-a: run it while nobody else uses the lab. Writes bench/results/protection.{json,md}.
// Benchmarks are not tests: nothing here asserts on timings.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { log, message, readFlags, round, sec } from './cli';
import { buildCli, describeEnvironment } from './env';
import { DESTINATION, SOURCE, repo, ssh } from './lab';
import { checkpointByHand, discardByHand, endCopy, restoreByHand } from './protection/byHand';
import { LabHost, crashAndFailOver, lab } from './protection/failover';
import { ProtectCli } from './protection/protectCli';
import { render, type ProtectionResults, type WorkloadRecord } from './protection/report';
import { BenchRun } from './workload';

const USAGE = 'usage: npm run bench:protect -- [--quick] [--sizes 64,512,2048] [--every 30] [--checkpoints 3] [--lost-after 5] [--cli head|worktree|file.js]\n';

interface Config {
  sizes: number[];
  everyS: number;
  checkpoints: number;
  lostAfterS: number;
  cli: string;
}

function parseArgs(argv: string[]): Config {
  const flags = readFlags(argv, ['quick'], USAGE);
  return {
    sizes: flags.integers('sizes', flags.has('quick') ? [64, 512] : [64, 512, 2048]),
    everyS: flags.integers('every', [30])[0],
    checkpoints: flags.integers('checkpoints', [3])[0],
    lostAfterS: flags.integers('lost-after', [5])[0],
    cli: flags.get('cli') ?? 'head',
  };
}

const sizeLabel = (mib: number) => (mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);

/** procmig's checkpoint images on a host (its own directory); counted before and after the run. */
const imageCount = async (host: string) => Number((await ssh(host, 'ls -d /var/tmp/process-migrator/img.* 2>/dev/null | wc -l')).stdout.trim()) || 0;

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const status = await lab('status');
  for (const h of [SOURCE, DESTINATION]) {
    if (!new RegExp(`^${h}\\s+up\\b.*reachable`, 'm').test(status)) throw new Error(`${h} is not up and reachable (sh scripts/lab.sh status):\n${status}`);
  }
  const cli = await buildCli(cfg.cli);
  const run = new BenchRun();
  const host = new LabHost(SOURCE);
  let protect: ProtectCli | undefined;
  const cleanUp = async () => {
    await protect?.stop();
    // lab-a first: every later step (and everyone else's tests) needs it.
    await host.bootIfCrashed();
    await run.tearDown();
    cli.cleanup();
  };
  process.once('SIGINT', () => {
    log('interrupted: booting lab-a if it is down, cleaning up both hosts');
    void cleanUp().finally(() => process.exit(130));
  });
  try {
    await run.setUp();
    const environment = await describeEnvironment(cli.description);
    const imagesBefore: Record<string, number> = { [SOURCE]: await imageCount(SOURCE), [DESTINATION]: await imageCount(DESTINATION) };
    log(`run ${run.id}: ${cli.description}; sizes ${cfg.sizes.join(', ')} MiB, a checkpoint every ${cfg.everyS} s, ${cfg.checkpoints} each, --lost-after ${cfg.lostAfterS} s`);
    const workloads: WorkloadRecord[] = [];
    for (const mib of cfg.sizes) {
      const w: WorkloadRecord = { mib, label: `1 × ${sizeLabel(mib)}`, procmig: { checkpoints: [], failed: [] }, byHand: { checkpoints: [], restores: [] } };
      workloads.push(w);
      try {
        const [worker] = await run.startWorkers(mib, 1);
        w.pid = worker.pid;
        for (let i = 0; i < cfg.checkpoints; i++) {
          const checkpoint = await checkpointByHand(run, worker, i);
          try {
            w.byHand.checkpoints.push({ ...checkpoint, dumpMs: round(checkpoint.dumpMs), streamMs: round(checkpoint.streamMs), totalMs: round(checkpoint.totalMs) });
            const restore = await restoreByHand(run, worker, checkpoint);
            w.byHand.restores.push({ restoreMs: round(restore.restoreMs), answerMs: round(restore.answerMs), wallMs: round(restore.wallMs) });
            log(`${w.label} · by hand ${i + 1}/${cfg.checkpoints}: freeze (dump) ${sec(checkpoint.dumpMs)}, checkpoint ${sec(checkpoint.totalMs)}; restore on ${DESTINATION} ${sec(restore.restoreMs)}, answers after ${sec(restore.answerMs)}`);
          } finally {
            await endCopy(run, DESTINATION, worker.pid);
            await discardByHand(checkpoint.dir);
          }
        }
        protect = new ProtectCli(cli.path, worker.pid, { everyS: cfg.everyS, lostAfterS: cfg.lostAfterS });
        for (let after = 0; w.procmig.checkpoints.length < cfg.checkpoints; ) {
          const { event, index } = await protect.next('checkpoint', after, (cfg.everyS + 180) * 1000);
          after = index + 1;
          if (!event.ok) {
            w.procmig.failed.push(String(event.error));
            log(`${w.label} · procmig checkpoint failed: ${String(event.error)}`);
            if (w.procmig.failed.length >= 2) throw new Error(`procmig protect: two checkpoints failed; the last: ${String(event.error)}`);
            continue;
          }
          if (event.options) w.procmig.options = event.options;
          const c = { at: event.at, freezeMs: Number(event.freezeMs), totalMs: Number(event.totalMs), bytes: Number(event.bytes) };
          w.procmig.checkpoints.push(c);
          log(`${w.label} · procmig checkpoint ${w.procmig.checkpoints.length}/${cfg.checkpoints}: freeze ${sec(c.freezeMs)}, checkpoint ${sec(c.totalMs)}, ${(c.bytes / (1 << 20)).toFixed(0)} MiB`);
        }
        const failover = await crashAndFailOver(run, worker, protect, host, cfg.lostAfterS);
        w.procmig.failover = failover;
        log(
          failover.ok
            ? `${w.label} · failover: answers on ${DESTINATION} ${sec(failover.crashToAnswerMs)} after the crash (lost after ${sec(failover.crashToLostMs)}, detection → running ${sec(failover.detectToRunningMs)}); lab-a booted in ${sec(failover.bootMs)}`
            : `${w.label} · failover failed: ${failover.error}`,
        );
        if (failover.pid) await endCopy(run, DESTINATION, failover.pid);
      } catch (err) {
        w.error = message(err);
        log(`${w.label}: ${w.error}`);
      } finally {
        await protect?.stop();
        protect = undefined;
        await host.bootIfCrashed();
        await run.killAll();
      }
    }
    environment.load.end = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    const notes = workloads.filter((w) => w.error).map((w) => `${w.label}: ${w.error}`);
    for (const h of [SOURCE, DESTINATION]) {
      const left = (await imageCount(h)) - imagesBefore[h];
      if (left > 0) notes.push(`${left} more of procmig's image directories on ${h} after the run than before`);
    }
    const results: ProtectionResults & Record<string, unknown> = {
      schema: 1,
      runId: run.id,
      startedAt: new Date(t0).toISOString(),
      finishedAt: new Date().toISOString(),
      durationS: Math.round((Date.now() - t0) / 1000),
      config: { sizes: cfg.sizes, everyS: cfg.everyS, checkpoints: cfg.checkpoints, lostAfterS: cfg.lostAfterS },
      environment,
      workloads,
      notes,
    };
    const md = render(results);
    const base = path.join(repo, 'bench', 'results', 'protection');
    mkdirSync(path.dirname(base), { recursive: true });
    for (const [file, text] of [
      [`${base}.json`, `${JSON.stringify(results, null, 2)}\n`],
      [`${base}.md`, md],
    ]) {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    }
    process.stdout.write(`\n${md}\n`);
  } finally {
    await cleanUp();
    log(`lab: ${(await lab('status')).split('\n').filter((l) => l.startsWith(SOURCE)).join(' ')}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:protect: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
