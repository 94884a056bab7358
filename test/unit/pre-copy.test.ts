// Pre-copy: the stop policy, the rounds loop with a fake checkpoint engine (over fake hosts that
// answer the helper's commands), rollback before and after the freeze, auto's switch when the
// process dirties memory faster than the link, the strategy choice, and CRIU's argv.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriuEngine, parseDumpStats } from '../../src/checkpoint/criu';
import { CheckpointError } from '../../src/checkpoint/engine';
import { HostHelper } from '../../src/helper/hostHelper';
import type { MigrationResult, Strategy } from '../../src/migration/api';
import { MigrationSession } from '../../src/migration/session';
import { STRATEGIES, runStrategy } from '../../src/migration/strategies';
import { preCopy, rates, stopAfter, type PreCopyLimits } from '../../src/migration/strategies/preCopy';
import { chooseStrategy, type StrategyChoice } from '../../src/migration/strategy';
import { formatMigration } from '../../src/cli/format';
import { renderReportHtml } from '../../src/ui/report/reportHtml';
import { passedPreflight } from './fakes/sessionFakes';
import { caps } from './fixtures';
import { FakeEngine, short, type Step } from './fakes/checkpoint';
import { FakeHost } from './fakes/transport';

const PID = 4242;
const MiB = 1 << 20;
const round = (n: number, bytes: number) => ({ round: n, pages: bytes / 4096, bytes, ms: 100 });

interface MigrateOptions {
  limits?: PreCopyLimits;
  finalDump?: number | Error;
  choice?: StrategyChoice;
  /** What `state` says of the source. */
  sourceState?: string;
}

async function migrate(script: Step[], options: MigrateOptions = {}) {
  const [a, b] = [new FakeHost('lab-a'), new FakeHost('lab-b')];
  if (options.sourceState) a.state = options.sourceState;
  const engine = new FakeEngine(script, PID);
  if (options.finalDump !== undefined) engine.finalDump = options.finalDump;
  const hosts = { get: async (name: string) => (name === 'lab-a' ? a : b) };
  const session = new MigrationSession({ hosts, checkpoint: engine, log: () => undefined }, { pid: PID, from: 'lab-a', to: 'lab-b', strategy: 'pre-copy' });
  await session.connect();
  await session.preflight({ run: passedPreflight({ dump: [], restore: [] }, [{ pid: PID, state: 'S' }]) });
  const choice = options.choice ?? { strategy: 'pre-copy', reason: 'requested' };
  session.result.strategy = choice.strategy;
  try {
    await runStrategy(session, choice, { ...STRATEGIES, 'pre-copy': (c) => preCopy(c, options.limits) });
  } catch (err) {
    await session.fail(err);
  }
  const result: MigrationResult = session.finish();
  const signals = (host: FakeHost, sig: string) => host.ran('signal-tree').filter((c) => c[1] === sig).length;
  return { result, engine, a, b, signals };
}

describe('pre-copy stop policy', () => {
  it('goes on while rounds shrink, and stops on a small round, a round under 5% of the first, no progress, or the limit', () => {
    assert.equal(stopAfter([round(1, 200 * MiB)]), undefined);
    assert.match(stopAfter([round(1, MiB / 2)]) ?? '', /^converged: round 1 copied 512\.0 KiB, under 1\.0 MiB/);
    assert.equal(stopAfter([round(1, 200 * MiB), round(2, 50 * MiB)]), undefined);
    assert.match(stopAfter([round(1, 200 * MiB), round(2, 9 * MiB)]) ?? '', /^converged: .*under 5% of the first round's 200\.0 MiB/);
    assert.match(stopAfter([round(1, 200 * MiB), round(2, 50 * MiB), round(3, 50 * MiB)]) ?? '', /^no progress: round 3/);
    const shrinking = [200, 150, 120, 100, 90, 80, 70, 60].map((m, i) => round(i + 1, m * MiB));
    assert.equal(stopAfter(shrinking.slice(0, 7)), undefined);
    assert.match(stopAfter(shrinking) ?? '', /^round limit: 8 rounds/);
  });

  it('measures the link from the first round and the dirty rate from the second', () => {
    const r = rates([
      { ...round(1, 100 * MiB), ms: 1000, startedMs: 0 },
      { ...round(2, 30 * MiB), ms: 300, startedMs: 1200 },
    ]);
    assert.equal(r.link, (100 * MiB) / 1000);
    assert.equal(r.dirty, (30 * MiB) / 1200);
  });

  it('reads the counts the helper prints from CRIU --display-stats', () => {
    assert.deepEqual(parseDumpStats('pages_scanned=57\npages_skipped=3\npages_written=30\nfrozen_us=5005\npage_size=4096\n'), {
      pagesWritten: 30,
      pagesScanned: 57,
      pagesSkipped: 3,
      pageSize: 4096,
    });
    assert.equal(parseDumpStats('pid=12\n'), undefined);
  });
});

describe('pre-copy rounds', () => {
  it('converges: each round in its own directory linked to the one before, then a final dump of what changed, restored from the chain', async () => {
    const { result, engine, a, signals } = await migrate([20_000, 2_000, 100]);
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(engine.calls, [
      'receive b/1 parent=-', 'pre-dump a/1 parent=-',
      'receive b/2 parent=1', 'pre-dump a/2 parent=1',
      'receive b/3 parent=2', 'pre-dump a/3 parent=2',
      'receive b/final parent=3', 'dump a/final parent=3',
      'restore b/final',
    ]);
    assert.deepEqual(result.rounds?.map((r) => [r.round, r.pages, r.bytes, r.final ?? false]), [
      [1, 20_000, 20_000 * 4096, false],
      [2, 2_000, 2_000 * 4096, false],
      [3, 100, 100 * 4096, false],
      [4, 50, 50 * 4096, true],
    ]);
    assert.match(result.roundsStopped ?? '', /^converged: round 3/);
    assert.equal(typeof result.phases.rounds, 'number');
    assert.equal(typeof result.phases.freeze, 'number', 'the freeze is timed');
    assert.deepEqual(a.ran('tar-out').map((c) => short(c.at(-1)!)), ['a/final'], 'only the final round’s images travel besides pages');
    assert.equal(signals(a, 'KILL'), 1, 'the source ends once the copy runs');
  });

  it('stops when a round makes no progress: the process dirties memory as fast as the link copies it', async () => {
    const { result } = await migrate([20_000, 8_000, 9_000]);
    assert.equal(result.ok, true, result.error);
    assert.equal(result.rounds?.filter((r) => !r.final).length, 3);
    assert.match(result.roundsStopped ?? '', /^no progress: round 3/);
  });

  it('stops at the round limit', async () => {
    const { result, engine } = await migrate([20_000, 15_000, 12_000, 10_000], { limits: { maxRounds: 4, minBytes: MiB, minFraction: 0.05 } });
    assert.equal(result.ok, true, result.error);
    assert.match(result.roundsStopped ?? '', /^round limit: 4 rounds/);
    assert.ok(engine.calls.includes('dump a/final parent=4'));
  });

  it('a failing round: the source was never frozen and keeps running; the page server stops and the images go', async () => {
    const failure = new CheckpointError('CRIU failed to copy the memory of process 4242 while it runs on lab-a: boom.', 'other', ['Error: boom'], 'lab-a');
    const { result, engine, a, b, signals } = await migrate([20_000, failure]);
    assert.equal(result.ok, false);
    assert.equal(result.rolledBack, true);
    assert.equal(result.error, failure.message);
    assert.equal(result.freezeMs, 0, 'nothing was frozen');
    assert.ok(!engine.calls.some((c) => c.startsWith('dump') || c.startsWith('restore')));
    assert.deepEqual(engine.stopped, ['b/2'], 'the round’s page server is stopped');
    assert.equal(signals(a, 'CONT') + signals(a, 'KILL'), 0, 'a running source is left alone');
    assert.equal(a.ran('state').length, 1, 'whether CRIU left it stopped is checked');
    assert.deepEqual([a, b].map((h) => h.ran('rmimages').map((c) => short(c[1]))), [['a'], ['b']]);
  });

  it('a failing round that left the tree stopped resumes it', async () => {
    const { result, a, signals } = await migrate([new Error('criu died')], { sourceState: 'stopped' });
    assert.equal(result.ok, false);
    assert.equal(result.freezeMs, 0);
    assert.equal(signals(a, 'CONT'), 1);
  });

  it('a failing final dump: the frozen source resumes, nothing runs on the destination', async () => {
    const failure = new CheckpointError('CRIU failed to checkpoint process 4242 on lab-a: boom.', 'other', [], 'lab-a');
    const { result, engine, a, b, signals } = await migrate([20_000, 100], { finalDump: failure });
    assert.equal(result.ok, false);
    assert.equal(result.rolledBack, true);
    assert.ok(!engine.calls.some((c) => c.startsWith('restore')));
    assert.equal(signals(a, 'CONT'), 1, 'the source is resumed');
    assert.equal(signals(a, 'KILL'), 0);
    assert.equal(signals(b, 'KILL'), 0);
    assert.deepEqual(engine.stopped, ['b/final']);
    assert.deepEqual([a, b].map((h) => h.ran('rmimages').length), [1, 1]);
  });

  it('auto: a process that dirties memory faster than the link gets auto’s other choice, after the rounds are undone', async () => {
    const choice: StrategyChoice = { strategy: 'pre-copy', reason: 'big', fallback: { strategy: 'stop-and-copy', reason: 'the other choice' } };
    // Round 1 copies 1000 pages in ≥ 40 ms; round 2 finds 20 000 changed meanwhile.
    const { result, engine, a, b } = await migrate([{ pages: 1000, delayMs: 40 }, 20_000], { choice });
    assert.equal(result.ok, true, result.error);
    assert.equal(result.strategy, 'stop-and-copy');
    assert.match(result.strategyReason, /^the other choice \(pre-copy was tried first, but it dirtied memory at \d+ MiB\/s while the link copied \d+ MiB\/s\)$/);
    assert.match(result.roundsStopped ?? '', /^abandoned: /);
    assert.deepEqual(engine.calls.slice(4), ['receive b parent=-', 'dump a parent=-', 'restore b']);
    assert.deepEqual([a, b].map((h) => h.ran('rmimages').length), [3, 3], 'the rounds’ images went before, the final ones after (their memory once restored, the rest after the commit)');
  });
});

describe('pre-copy in the strategy choice', () => {
  const input = (requested: Strategy, mib: number, preCopyProblem?: string, postCopyProblem?: string) => ({
    requested,
    rssKiB: mib * 1024,
    source: caps('lab-a'),
    destination: caps('lab-b'),
    preCopyProblem,
    postCopyProblem,
  });
  const noSoftDirty = 'pre-copy needs soft-dirty memory tracking, which lab-a’s kernel lacks';

  it('requested: runs where both kernels track dirty memory, else falls back and says why', () => {
    assert.deepEqual(chooseStrategy(input('pre-copy', 512)), { strategy: 'pre-copy', reason: 'requested' });
    assert.deepEqual(chooseStrategy(input('pre-copy', 512, noSoftDirty)), {
      strategy: 'post-copy',
      reason: `${noSoftDirty}; post-copy keeps the freeze as short instead`,
    });
    assert.equal(chooseStrategy(input('pre-copy', 512, noSoftDirty, 'no uffd')).strategy, 'stop-and-copy');
  });

  it('auto: pre-copy for a big process where it can run, with today’s choice as its fallback; today’s choice otherwise', () => {
    const big = chooseStrategy(input('auto', 512));
    assert.equal(big.strategy, 'pre-copy');
    assert.equal(big.fallback?.strategy, 'post-copy');
    assert.match(big.reason, /512 MiB.*dirty memory faster than the link copies it, post-copy runs instead/);
    assert.equal(chooseStrategy(input('auto', 512, undefined, 'no uffd')).fallback?.strategy, 'stop-and-copy');
    const small = chooseStrategy(input('auto', 16));
    assert.equal(small.strategy, 'stop-and-copy');
    assert.equal(small.fallback, undefined);
    const untracked = chooseStrategy(input('auto', 512, noSoftDirty));
    assert.equal(untracked.strategy, 'post-copy');
    assert.match(untracked.reason, /not pre-copy: pre-copy needs soft-dirty/);
  });
});

describe('CriuEngine pre-copy', () => {
  const withSoftDirty = (host: string, on: boolean) => caps(host, { features: { ...caps(host).features, mem_dirty_track: on } });

  it('needs soft-dirty on both hosts; the untracked test mode runs only when asked for', () => {
    const engine = new CriuEngine();
    assert.equal(engine.preCopyProblem(withSoftDirty('lab-a', true), withSoftDirty('lab-b', true), false), undefined);
    assert.equal(
      engine.preCopyProblem(withSoftDirty('lab-a', false), withSoftDirty('lab-b', true), true),
      "pre-copy needs soft-dirty memory tracking, which lab-a's kernel lacks",
    );
    assert.match(engine.preCopyProblem(withSoftDirty('lab-a', false), withSoftDirty('lab-b', false), true) ?? '', /which the kernels of lab-a and lab-b lack/);
    const untracked = new CriuEngine({ untrackedRounds: true });
    assert.equal(untracked.preCopyProblem(withSoftDirty('lab-a', false), withSoftDirty('lab-b', false), true), undefined);
    assert.match(untracked.preCopyProblem(withSoftDirty('lab-a', false), withSoftDirty('lab-b', false), false) ?? '', /test mode/);
  });

  it('a round is a tracked pre-dump to the page server, linked to the round before; so is the final dump', async () => {
    const host = new FakeHost('lab-a');
    const helper = HostHelper.for(host);
    const engine = new CriuEngine();
    const plan = engine.plan({ shellJob: 'tty' });
    const dir = '/var/tmp/process-migrator/img.x';
    const socket = `${dir}/pages.sock`;
    const stats = await engine.preDump(helper, PID, `${dir}/2`, plan, socket, { parent: '1' });
    assert.deepEqual(stats, { pagesWritten: 120, pagesScanned: 300, pagesSkipped: 10, pageSize: 4096 });
    await engine.dump(helper, PID, `${dir}/final`, plan, socket, { parent: '2' });
    await engine.dump(helper, PID, dir, plan, socket);
    const page = ['--pages', socket];
    assert.deepEqual(host.ran('pre-dump'), [['pre-dump', String(PID), `${dir}/2`, ...page, '--shell-job', '--track-mem', '--prev-images-dir', '../1']]);
    assert.deepEqual(host.ran('dump'), [
      ['dump', String(PID), `${dir}/final`, ...page, '--shell-job', '--track-mem', '--prev-images-dir', '../2', '--display-stats'],
      ['dump', String(PID), dir, ...page, '--shell-job'],
    ]);
    await engine.receivePages(helper, `${dir}/3`, socket, { parent: '2' });
    assert.deepEqual(host.ran('page-server'), [['page-server', `${dir}/3`, '--socket', socket, '--parent', '2']]);
  });

  it('untracked (test mode): each round is a whole dump and no round is linked', async () => {
    const host = new FakeHost('lab-a');
    const helper = HostHelper.for(host);
    const engine = new CriuEngine({ untrackedRounds: true });
    const dir = '/var/tmp/process-migrator/img.x';
    const socket = `${dir}/pages.sock`;
    await engine.preDump(helper, PID, `${dir}/2`, engine.plan({}), socket, { parent: '1' });
    await engine.dump(helper, PID, `${dir}/final`, engine.plan({}), socket, { parent: '2' });
    await engine.receivePages(helper, `${dir}/3`, socket, { parent: '2' });
    assert.deepEqual(host.ran('pre-dump')[0].slice(3, 6), ['--pages', socket, '--full']);
    assert.ok(!host.commands.flat().some((a) => a === '--prev-images-dir' || a === '--parent' || a === '--track-mem'));
  });
});

describe('pre-copy in the reports', () => {
  const result = {
    ok: true, from: 'lab-a', to: 'lab-b', sourcePid: PID, destinationPid: PID, strategy: 'pre-copy', strategyReason: 'requested',
    phases: { rounds: 900, dump: 80 }, freezeMs: 300, totalMs: 2000, bytes: 90 * MiB, options: [], startedAt: '2026-01-01T00:00:00.000Z',
    rounds: [round(1, 80 * MiB), round(2, 8 * MiB), { ...round(3, 2 * MiB), final: true }],
    roundsStopped: 'converged: round 2 copied 8.0 MiB, under 10% of the first round’s 80.0 MiB',
  } satisfies MigrationResult;

  it('the CLI lists each round, the final one last, and why they stopped', () => {
    const text = formatMigration(result);
    assert.match(text, /Pre-copy rounds \(converged: round 2 .*\):\n {2}round 1 +80\.0 MiB +100 ms\n {2}round 2 +8\.0 MiB +100 ms\n {2}final +2\.0 MiB +100 ms/);
    assert.match(text, /Timeline:\n {2}rounds/);
  });

  it('the report page has a rounds table with the frozen final dump', () => {
    const html = renderReportHtml({ selected: { id: 'x', result }, history: [], nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /<h2>Pre-copy rounds<\/h2>/);
    assert.match(html, /<tr class="frozen"><td>final \(frozen\)<\/td>/);
    assert.match(html, /Stopped: converged/);
  });
});
