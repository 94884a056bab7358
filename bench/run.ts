// npm run bench [-- --quick] — measures procmig against migrating with CRIU by hand, in the lab.
//
//   --sizes 1,64,512,2048 MiB held by the single-process workloads        (BENCH_SIZES)
//   --counts 1,4,8        processes migrated at once, of --count-size MiB (BENCH_COUNTS)
//   --count-size 64                                                        (BENCH_COUNT_SIZE)
//   --reps 3              repetitions of every cell                        (BENCH_REPS)
//   --methods baseline,lazy-pages,stop-and-copy,post-copy,auto,warm,vscode (BENCH_METHODS)
//                         lazy-pages on one-process workloads, warm up to 512 MiB per process,
//                         vscode on one process up to --count-size MiB
//   --verify all|first    memory checksum on every run, or the first of each cell (BENCH_VERIFY)
//   --cli head|<commit>|worktree|path/to/procmig.js  the procmig under test (default: built from HEAD)
//   --quick               64 and 512 MiB, 1 and 4 processes, 2 repetitions, checksum on first
//   --name latest         output bench/results/<name>.{json,md,svg} (--quick: quick)
//   --resume              keep the cells an interrupted run of the same --name finished
//   --render [file.json]  only re-render the .md and .svg of a finished run (default latest.json)
//
// Benchmarks are not tests: nothing here asserts on timings.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { log, message, readFlags, round, sec } from './cli';
import { buildCli, describeEnvironment, type Environment } from './env';
import { DESTINATION, SOURCE, oneLine, reconnects, repo } from './lab';
import { InProcessEngines } from './inProcess';
import { lazyPagesByHand } from './lazyPages';
import { MethodError, baseline, cliTakesSeveralPids, rawSshHostToHost, rawSshViaRoot, viaCli, type MigrationMethod } from './methods';
import { comparisons, legend, markdownTable, notes, phaseTable, stat, svgChart, type Cell, type MethodResult, type SampleRecord } from './report';
import { BenchRun } from './workload';

const MIGRATION_METHODS = ['baseline', 'lazy-pages', 'stop-and-copy', 'post-copy', 'auto', 'warm', 'vscode'] as const;
type MigrationMethodName = (typeof MIGRATION_METHODS)[number];
/** Above this a kept engine saves nothing the transfer does not drown (2 GiB: ~80 s of run). */
const WARM_MAX_MIB = 512;

/**
 * Whether a workload gets the row: lazy-pages on one process only (by hand one after the other,
 * a batch adds nothing the baseline does not show); warm up to WARM_MAX_MIB per process; vscode
 * on one process up to --count-size MiB, the small programs moved from the editor (above that
 * its call is warm's).
 */
function measures(m: MigrationMethodName, cell: Cell, cfg: Config): boolean {
  if (m === 'lazy-pages') return cell.count === 1;
  if (m === 'warm') return cell.mib <= WARM_MAX_MIB;
  if (m === 'vscode') return cell.count === 1 && cell.mib <= cfg.countSize;
  return true;
}
/** The rows that start a new `procmig` for each migration. */
const CLI_METHODS: readonly MigrationMethodName[] = ['stop-and-copy', 'post-copy', 'auto'];

interface Config {
  sizes: number[];
  counts: number[];
  countSize: number;
  reps: number;
  methods: MigrationMethodName[];
  verify: 'all' | 'first';
  cli: string;
  name: string;
  outDir: string;
  quick: boolean;
  resume: boolean;
  cliGiven: boolean;
}

function parseArgs(argv: string[]): Config {
  const flags = readFlags(
    argv,
    ['quick', 'resume'],
    'usage: npm run bench -- [--quick] [--sizes 1,64,512,2048] [--counts 1,4,8] [--count-size 64] [--reps 3]\n' +
      '       [--methods baseline,lazy-pages,stop-and-copy,post-copy,auto,warm,vscode] [--verify all|first] [--cli head|worktree|file.js] [--name latest]\n',
  );
  const quick = flags.has('quick');
  const cfg: Config = {
    quick,
    resume: flags.has('resume'),
    cliGiven: flags.get('cli') !== undefined,
    sizes: flags.integers('sizes', quick ? [64, 512] : [1, 64, 512, 2048]),
    counts: flags.integers('counts', quick ? [1, 4] : [1, 4, 8]),
    countSize: flags.integers('count-size', [64])[0],
    reps: flags.integers('reps', [quick ? 2 : 3])[0],
    methods: (flags.get('methods')?.split(',').map((m) => m.trim()) ?? [...MIGRATION_METHODS]) as MigrationMethodName[],
    verify: (flags.get('verify') ?? (quick ? 'first' : 'all')) as Config['verify'],
    cli: flags.get('cli') ?? 'head',
    name: flags.get('name') ?? (quick ? 'quick' : 'latest'),
    outDir: path.join(repo, 'bench', 'results'),
  };
  for (const m of cfg.methods) if (!MIGRATION_METHODS.includes(m)) throw new Error(`unknown method '${m}' (known: ${MIGRATION_METHODS.join(', ')})`);
  if (!['all', 'first'].includes(cfg.verify)) throw new Error('--verify is all or first');
  if (!/^[\w.-]+$/.test(cfg.name)) throw new Error(`bad --name '${cfg.name}'`);
  return cfg;
}

/** Workloads: every size as one process, then count × count-size (1 × count-size is already there). */
function planCells(cfg: Config): Cell[] {
  const cells: Cell[] = [];
  const add = (mib: number, count: number) => {
    const id = `${count}x${mib}MiB`;
    if (cells.some((c) => c.id === id)) return;
    const size = mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
    cells.push({ id, label: count === 1 ? `1 × ${size}` : `${count} × ${size}`, mib, count, methods: [] });
  };
  for (const s of cfg.sizes) add(s, 1);
  for (const c of cfg.counts) add(cfg.countSize, c);
  return cells;
}

async function main(): Promise<void> {
  const renderAt = process.argv.indexOf('--render');
  if (renderAt >= 0) {
    // Re-renders <name>.md and <name>.svg from a results JSON, without measuring anything.
    const file = path.resolve(process.argv[renderAt + 1] ?? path.join(repo, 'bench', 'results', 'latest.json'));
    const { md, svg, table } = render(JSON.parse(readFileSync(file, 'utf8')) as Results);
    const base = file.replace(/\.json$/, '');
    writeFileSync(`${base}.md`, md);
    writeFileSync(`${base}.svg`, svg);
    process.stdout.write(`${table}\n`);
    return;
  }
  const cfg = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  // --resume: cells finished by an interrupted run of the same name are kept, not measured again,
  // and the procmig under test is built from the same commit as theirs.
  const partialFile = path.join(cfg.outDir, `${cfg.name}.partial.json`);
  const previous = cfg.resume && existsSync(partialFile) ? (JSON.parse(readFileSync(partialFile, 'utf8')) as Results & { startedAt: string }) : undefined;
  const previousCommit = /(?:HEAD|commit) ([0-9a-f]{7,40})/.exec(previous?.environment.cli ?? '')?.[1];
  if (previousCommit && !cfg.cliGiven) cfg.cli = previousCommit;
  log(`lab: ${execFileSync('sh', [path.join(repo, 'scripts', 'lab.sh'), 'up'], { encoding: 'utf8' }).trim().split('\n').pop()}`);
  const cli = await buildCli(cfg.cli);
  const run = new BenchRun();
  // One engine per in-process row, kept for the whole run (warm, vscode).
  const engines = new InProcessEngines(cli.engine);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: cleaning up both hosts');
    void Promise.allSettled([engines.dispose(), run.tearDown()]).finally(() => {
      cli.cleanup();
      process.exit(130);
    });
  });
  try {
    await run.setUp();
    const environment = await describeEnvironment(cli.description);
    const severalPids = await cliTakesSeveralPids(cli.path);
    log(`run ${run.id}: ${environment.cores} cores, kernel ${environment.kernel}, CRIU ${environment.criu[SOURCE]}, ${cli.description}; several PIDs per call: ${severalPids ? 'yes' : 'no'}`);
    const cells = planCells(cfg);
    let resumedFrom: Results['resumedFrom'];
    if (previous) {
      const done = previous.cells.filter((c) => c.methods.some((m) => m.kind === 'reference' && m.samples.length));
      for (const [i, cell] of cells.entries()) {
        const prev = done.find((c) => c.id === cell.id);
        if (prev) cells[i] = { ...prev, measuredIn: prev.measuredIn ?? previous.runId };
      }
      resumedFrom = previous.resumedFrom ?? { runId: previous.runId, startedAt: previous.startedAt };
      log(`resuming ${previous.runId}: keeping ${done.map((c) => c.label).join(', ')}`);
    }
    const methodFns: Record<MigrationMethodName, MigrationMethod> = {
      baseline,
      'lazy-pages': lazyPagesByHand,
      'stop-and-copy': viaCli(cli.path, 'stop-and-copy'),
      'post-copy': viaCli(cli.path, 'post-copy'),
      auto: viaCli(cli.path, 'auto'),
      warm: engines.method('warm'),
      vscode: engines.method('vscode'),
    };
    let seq = 0;
    for (const cell of cells) {
      if (interrupted) break;
      if (cell.measuredIn) continue;
      const results = new Map<MigrationMethodName, MethodResult>();
      const methods = cfg.methods.filter((m) => measures(m, cell, cfg));
      for (const m of methods) {
        const r: MethodResult = { method: m, kind: 'migration', available: true, samples: [] };
        if (CLI_METHODS.includes(m) && cell.count > 1 && !severalPids) {
          r.available = false;
          r.note = 'this procmig takes one PID per migrate call';
        }
        results.set(m, r);
        cell.methods.push(r);
      }
      // Methods interleave within each repetition, so drift in the machine's load hits all alike.
      for (let rep = 0; rep < cfg.reps && !interrupted; rep++) {
        for (const m of methods) {
          const r = results.get(m)!;
          if (!r.available || interrupted) continue;
          const checksum = cfg.verify === 'all' || !r.samples.some((s) => s.verified === 'checksum' && s.ok);
          await measure(run, cell, r, methodFns[m], m, rep, checksum, () => seq++);
        }
      }
      // The physical reference: the bytes our stop-and-copy moved (else the by-hand images).
      const moved = (name: string) => stat((results.get(name as MigrationMethodName)?.samples ?? []).filter((s) => s.ok).map((s) => s.bytes ?? NaN))?.median;
      const bytes = Math.round(moved('stop-and-copy') ?? moved('baseline') ?? cell.mib * cell.count * (1 << 20));
      for (const [name, fn] of [
        ['ssh via root', () => rawSshViaRoot(bytes)],
        ['ssh host→host', () => rawSshHostToHost(run, bytes)],
        ['ssh host→host into memory', () => rawSshHostToHost(run, bytes, 'memory')],
      ] as const) {
        const r: MethodResult = { method: name, kind: 'reference', available: true, samples: [] };
        cell.methods.push(r);
        for (let rep = 0; rep < cfg.reps && !interrupted; rep++) {
          try {
            const ms = await fn();
            r.samples.push({ rep, ok: true, totalMs: ms, bytes });
            log(`${cell.label} · ${name} · run ${rep + 1}/${cfg.reps}: ${sec(ms)} for ${(bytes / (1 << 20)).toFixed(0)} MiB`);
          } catch (err) {
            r.samples.push({ rep, ok: false, bytes, problems: [message(err)] });
          }
        }
      }
      writeResults(cfg, run, environment, cells, t0, true, resumedFrom);
    }
    environment.load.end = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    const md = writeResults(cfg, run, environment, cells, t0, false, resumedFrom);
    process.stdout.write(`\n${md}\n`);
  } finally {
    if (!interrupted) {
      await engines.dispose();
      await run.tearDown();
      cli.cleanup();
    }
  }
}

/** One sample: fresh processes on lab-a, one migration, verification on lab-b, then all killed. */
async function measure(run: BenchRun, cell: Cell, r: MethodResult, fn: MigrationMethod, method: MigrationMethodName, rep: number, checksum: boolean, nextSeq: () => number): Promise<void> {
  const retried: string[] = [];
  const tag = `${cell.label} · ${method} · run ${rep + 1}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const workers = await run.startWorkers(cell.mib, cell.count);
    const pids = workers.map((w) => w.pid);
    const cleanUp = async (extra: number[] = []) => {
      await Promise.all([run.kill(SOURCE, pids), run.kill(DESTINATION, [...pids, ...extra])]);
      run.forget(pids);
    };
    const refusedBefore = reconnects.count;
    let outcome;
    try {
      outcome = await fn(run, workers, nextSeq());
    } catch (err) {
      await cleanUp();
      if (err instanceof MethodError && err.unavailable) {
        r.available = false;
        r.note = message(err);
        log(`${tag}: unavailable — ${r.note}`);
        return;
      }
      retried.push(message(err));
      log(`${tag}: failed (${oneLine(message(err), 200)}); retrying with fresh processes`);
      continue;
    }
    const destinationPids = [...outcome.destinationPids.values()];
    const problems = await run.verifyMoved(workers, outcome.destinationPids, checksum);
    await cleanUp(destinationPids);
    if (method === 'post-copy' && outcome.strategy !== 'post-copy') {
      // The CLI fell back: what it measured is stop-and-copy, not post-copy.
      r.available = false;
      r.note = `procmig moved it with ${outcome.strategy ?? 'another strategy'} instead: ${outcome.strategyReason ?? 'no reason given'}`;
      log(`${tag}: post-copy unavailable — ${r.note}`);
      return;
    }
    if (reconnects.count !== refusedBefore) {
      // A host was unreachable for a while during this sample (someone stopped its sshd): the
      // timings include the wait, so measure again.
      retried.push('a lab host refused SSH connections during the run (its sshd was stopped by someone else); measured again');
      log(`${tag}: a lab host refused connections meanwhile; measuring again`);
      continue;
    }
    const sample: SampleRecord = {
      rep,
      ok: problems.length === 0,
      freezeMs: round(outcome.freezeMs),
      totalMs: round(outcome.totalMs),
      bytes: outcome.bytes,
      phases: Object.fromEntries(Object.entries(outcome.phases).map(([k, v]) => [k, round(v)])),
      strategy: outcome.strategy,
      strategyReason: outcome.strategyReason,
      perProcess: outcome.perProcess.map((p) => ({ ...p, freezeMs: round(p.freezeMs) })),
      wallMs: outcome.wallMs === undefined ? undefined : round(outcome.wallMs),
      verified: checksum ? 'checksum' : 'running',
      problems: problems.length ? problems : undefined,
      retried: retried.length ? retried : undefined,
      cli: outcome.raw,
    };
    r.samples.push(sample);
    const how = problems.length ? `NOT VERIFIED: ${problems.join('; ')}` : checksum ? 'runs on lab-b, memory checksum matches' : 'runs on lab-b';
    log(`${tag}: freeze ${sec(outcome.freezeMs)}, total ${sec(outcome.totalMs)}, ${(outcome.bytes / (1 << 20)).toFixed(0)} MiB${outcome.strategy && method === 'auto' ? ` (${outcome.strategy})` : ''} — ${how}`);
    return;
  }
  r.samples.push({ rep, ok: false, problems: [`failed twice; last: ${retried[retried.length - 1]}`], retried });
}

interface Results {
  runId: string;
  resumedFrom?: { runId: string; startedAt: string };
  config: { reps: number };
  environment: Environment;
  cells: Cell[];
  notes: string[];
}

/** The Markdown report and the chart, from the raw results alone (also: --render file.json). */
function render(json: Results): { md: string; svg: string; table: string } {
  const { environment: env, cells } = json;
  const table = markdownTable(cells);
  const md = [
    `# Benchmarks: procmig vs. CRIU by hand`,
    '',
    `${env.date.slice(0, 10)} · ${env.cores} cores (${env.cpuModel}), ${Math.round(env.memTotalMiB / 1024)} GiB RAM · kernel ${env.kernel} · CRIU ${env.criu[SOURCE]} · ${env.openssh} · ${env.cli} · ${json.config.reps} runs per cell · ssh round trip ${env.sshRoundTripMs} ms · load ${env.load.start}${env.load.end ? ` → ${env.load.end}` : ''}`,
    ...(json.resumedFrom
      ? [
          '',
          `Resumed run: ${cells.filter((c) => c.measuredIn).map((c) => c.label).join(', ')} measured by run ${json.resumedFrom.runId} (started ${json.resumedFrom.startedAt}), which was cut short; the rest by run ${json.runId}, same build and machine.`,
        ]
      : []),
    '',
    table,
    '',
    legend(),
    '',
    ...(() => {
      const lines = comparisons(cells);
      return lines.length ? ['Against the other baselines:', '', ...lines.map((l) => `- ${l}`), ''] : [];
    })(),
    ...(json.notes.length ? ['Notes:', '', ...json.notes.map((n) => `- ${n}`), ''] : []),
    '## Phases',
    '',
    phaseTable(cells),
    '',
  ].join('\n');
  const svg = svgChart(
    cells,
    'procmig vs. CRIU by hand (lab-a → lab-b)',
    `median of ${json.config.reps} runs · ${env.cores} cores · kernel ${env.kernel} · CRIU ${env.criu[SOURCE]} · ${env.date.slice(0, 10)}`,
  );
  return { md, svg, table };
}

function writeResults(cfg: Config, run: BenchRun, environment: Environment, cells: Cell[], t0: number, partial: boolean, resumedFrom?: Results['resumedFrom']): string {
  mkdirSync(cfg.outDir, { recursive: true });
  const base = path.join(cfg.outDir, partial ? `${cfg.name}.partial` : cfg.name);
  const json = {
    schema: 1,
    runId: run.id,
    /** Set when --resume kept cells measured by an earlier, interrupted run (their `measuredIn`). */
    resumedFrom,
    partial,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    config: { ...cfg, outDir: path.relative(repo, cfg.outDir) },
    environment,
    cells,
    notes: notes(cells),
  };
  const { md, svg, table } = render(json);
  const write = (file: string, text: string) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  write(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  if (!partial) {
    write(`${base}.md`, md);
    write(`${base}.svg`, svg);
    rmSync(path.join(cfg.outDir, `${cfg.name}.partial.json`), { force: true });
  }
  return `${table}\n${json.notes.length ? `\n${json.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
