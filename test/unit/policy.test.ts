// Policies: the file's validation names each bad field in a sentence; a rule fires only once its
// condition has held forSeconds, re-arms only past its clear threshold (hysteresis); the watcher
// moves only marked processes, never one twice within minSecondsBetweenMoves, keeps a moved
// process marked under its new PID, and in a dry run moves nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostStates } from '../../src/automatic/hostStates';
import { markedTrees, parsePolicies, type Policies, PolicyEvaluator, type PolicyRule, step } from '../../src/automatic/policy';
import { type PlannedMove, PolicyWatcher, type WatchEvent, type WatchOptions } from '../../src/automatic/watch';
import type { HostState, MigrateOptions, MigrationProgress, MigrationRequest, MigrationResult, ProcessInfo } from '../../src/migration/api';

const busy: PolicyRule = { name: 'busy-host', hosts: ['lab-a'], when: { cpuPerCoreAbove: 0.8 }, forSeconds: 30, move: 'marked', to: 'auto', among: ['lab-b'] };
const lowMem: PolicyRule = { name: 'low-mem', when: { memAvailableBelowMiB: 512 }, forSeconds: 0, move: 'largest-marked', to: 'auto' };
const state = (host: string, t: number, over: Partial<HostState> = {}): HostState => ({
  host, measuredAt: t * 1000, cpus: 2, load1PerCore: 0, load5PerCore: 0, busyCores: 0, cpuTime: { usageUsec: 0, uptimeS: t }, memAvailableKiB: 4 << 20, diskAvailableKiB: 10 << 20, ...over,
});
const p = (pid: number, ppid: number, command: string, over: Partial<ProcessInfo> = {}): ProcessInfo => ({ pid, ppid, user: 'dev', uid: 1000, cpu: 0, rssKiB: 1024, name: command.split(' ')[0], command, state: 'S', ...over });

/** Feeds (seconds, busy cores) readings of lab-a through `rule`; the reasons of what fired, and
 * 're-armed' where it re-armed. */
function run(rule: PolicyRule, readings: [number, number][]): string[] {
  const evaluator = new PolicyEvaluator([rule], ['lab-a', 'lab-b']);
  return readings.flatMap(([t, cores]) => evaluator.observe(state('lab-a', t, { busyCores: cores })).flatMap((s) => [...(s.rearmed ? ['re-armed'] : []), ...(s.firing ? [s.firing.reason] : [])]));
}

describe('policy file', () => {
  it('accepts a valid file, with defaults', () => {
    const r = parsePolicies({ rules: [busy, lowMem], marked: [{ host: 'lab-a', pid: 123 }, { host: 'lab-a', command: 'train\\.py' }] });
    assert.deepEqual(r.errors, []);
    assert.equal(r.policies?.minSecondsBetweenMoves, 300);
  });

  it('names each bad field in one sentence', () => {
    const r = parsePolicies({
      rules: [
        { ...busy, forSeconds: '30', clearBelow: 0.9 },
        { ...busy, when: { loadAbove: 1 }, move: 'all', to: 'lab-b', among: [] },
        { ...lowMem, clearBelow: 100, extra: 1 },
      ],
      marked: [{ host: 'lab-a' }, { host: 'lab-a', command: '(' }, { pid: 3 }],
      minSecondsBetweenMoves: -1,
    });
    assert.deepEqual(r.errors, [
      'minSecondsBetweenMoves must be a number of seconds, 0 or more.',
      'rules[0].forSeconds must be a number of seconds, 0 or more.',
      'rules[0].clearBelow must be a number no higher than cpuPerCoreAbove (0.8).',
      'rules[1].name repeats "busy-host": each rule needs its own name.',
      'rules[1].among must be a non-empty list of host names.',
      'rules[1].move must be "marked" or "largest-marked".',
      'rules[1].to must be "auto" (the best host among "among").',
      'rules[1].when must be { "cpuPerCoreAbove": X } or { "memAvailableBelowMiB": Y }.',
      'rules[2].extra is not a rule field (expected name, hosts, when, forSeconds, clearBelow, clearAbove, move, to, among).',
      'rules[2].clearBelow is for a CPU rule; a memory rule re-arms above clearAbove.',
      'marked[0] must have either "pid" or "command".',
      'marked[1].command is not a regular expression (Invalid regular expression: /(/: Unterminated group).',
      'marked[2] must name its "host" and a "pid" or a "command" regular expression.',
    ]);
    assert.match(parsePolicies([]).errors[0], /must be a JSON object/);
    assert.deepEqual(parsePolicies({ rules: [] }).errors, ['rules must be a list of at least one rule.']);
  });
});

describe('policy evaluator', () => {
  it('fires once the condition has held forSeconds, and says what it measured', () => {
    assert.deepEqual(run(busy, [[0, 1.9], [10, 1.9], [20, 1.9], [30, 1.9]]), ['policy busy-host: lab-a used 1.9 of 2 cores for 30 s (above 0.8 per core)']);
  });

  it('a dip below the threshold restarts the count', () => {
    assert.deepEqual(run(busy, [[0, 1.9], [20, 1.9], [25, 1.0], [30, 1.9], [50, 1.9]]), []);
  });

  it('hysteresis: once fired it re-arms only below clearBelow (default 3/4 of the threshold)', () => {
    const fired = 'policy busy-host: lab-a used 1.9 of 2 cores for 0 s (above 0.8 per core)';
    const instant = { ...busy, forSeconds: 0 };
    // 1.5 cores is 0.75 per core: under the threshold but not under 0.6, so it stays fired.
    assert.deepEqual(run(instant, [[0, 1.9], [3, 1.5], [6, 1.9], [9, 1.1], [12, 1.9]]), [fired, 're-armed', fired]);
    assert.deepEqual(run({ ...instant, clearBelow: 0.2 }, [[0, 1.9], [3, 1.1], [6, 1.9], [9, 0.5], [12, 1.9]]), [fired]);
  });

  it('a memory rule fires below its MiB and re-arms above clearAbove', () => {
    const evaluator = new PolicyEvaluator([lowMem], ['lab-a']);
    const reasons = [400, 500, 600, 700, 300].flatMap((mib, t) => evaluator.observe(state('lab-a', t, { memAvailableKiB: mib * 1024 })).flatMap((s) => [...(s.rearmed ? ['re-armed'] : []), ...(s.firing ? [s.firing.reason] : [])]));
    assert.deepEqual(reasons, ['policy low-mem: lab-a had 400 MiB available for 0 s (below 512 MiB)', 're-armed', 'policy low-mem: lab-a had 300 MiB available for 0 s (below 512 MiB)']);
  });

  it('uses the load per core without a cgroup; a stale reading or a first cgroup reading says nothing', () => {
    const instant = { ...busy, forSeconds: 10 };
    const noCgroup = (t: number, load: number) => state('lab-a', t, { busyCores: undefined, cpuTime: undefined, load1PerCore: load });
    let arm = step(instant, { fired: false }, noCgroup(0, 1.2)).arm;
    assert.equal(arm.since, 0);
    arm = step(instant, arm, state('lab-a', 5, { busyCores: undefined })).arm;
    arm = step(instant, arm, state('lab-a', 8, { stale: 'not measured: down' })).arm;
    assert.equal(arm.since, undefined, 'a stale reading does not count as the condition holding');
    arm = step(instant, arm, noCgroup(9, 1.2)).arm;
    assert.equal(step(instant, arm, noCgroup(19, 1.2)).firing?.reason, "policy busy-host: lab-a's load was 1.20 per core for 10 s (above 0.8 per core)");
  });

  it('watches only the rule\'s hosts (default: the configured ones)', () => {
    const evaluator = new PolicyEvaluator([{ ...busy, forSeconds: 0 }], ['lab-a', 'lab-b']);
    assert.deepEqual(evaluator.observe(state('lab-b', 0, { busyCores: 2 })), []);
    assert.equal(evaluator.observe(state('lab-a', 0, { busyCores: 2 }))[0].firing?.host, 'lab-a');
  });
});

describe('marked processes', () => {
  const processes = [p(1, 0, 'tini'), p(10, 1, 'python3 train.py'), p(11, 10, 'python3 train.py --worker'), p(20, 1, 'sh -c ticker'), p(21, 20, 'sleep 0.1'), p(30, 1, 'sh /tmp/helper-0123456789ab.sh ps train.py')];

  it('a command mark takes the top of each matching tree, never the helper; a PID mark its process', () => {
    const { trees, gone } = markedTrees([{ host: 'lab-a', command: 'train\\.py' }, { host: 'lab-a', pid: 21 }, { host: 'lab-b', pid: 20 }], 'lab-a', processes);
    assert.deepEqual(trees.map((t) => t.pid), [10, 21]);
    assert.deepEqual(gone, []);
  });

  it('a PID mark whose process is gone, or whose PID now runs another command, is gone', () => {
    const { trees, gone } = markedTrees([{ host: 'lab-a', pid: 99 }, { host: 'lab-a', pid: 20, seen: 'node server.js' }], 'lab-a', processes);
    assert.deepEqual(trees, []);
    assert.deepEqual(gone.map((m) => 'pid' in m && m.pid), [99, 20]);
  });
});

describe('policy watcher', () => {
  /** Each tick a second apart, lab-a busy unless told otherwise; lab-a runs marked 10, unmarked
   * 20 and marked (by command) 30. A move gives the process PID + 1000 on lab-b. */
  function setUp(policies: Partial<Policies>, options: Partial<Pick<WatchOptions, 'dryRun' | 'onMove'>> = {}, failing?: number) {
    let t = 0;
    let busyCores = (host: string) => (host === 'lab-a' ? 1.9 : 0.1);
    const onA = new Map([10, 20, 30].map((pid) => [pid, p(pid, 1, `ticker ${pid}`, { cpu: pid })]));
    const onB = new Map<number, ProcessInfo>();
    const migrations: MigrationRequest[] = [];
    const events: WatchEvent[] = [];
    const engine = {
      measureHost: async (host: string) => state(host, t, { busyCores: busyCores(host) }),
      listProcesses: async (host: string) => [p(1, 0, 'tini'), ...(host === 'lab-a' ? onA : onB).values()],
      checkFeasible: async (r: MigrationRequest) => ({ host: r.to, feasible: true, problems: [], rssKiB: 1024, cpuCores: 0.1 }),
      migrate: async (r: MigrationRequest, o?: MigrateOptions): Promise<MigrationResult> => {
        migrations.push(r);
        if (r.pid === failing) throw new Error('lab-b closed the connection');
        o?.onProgress?.({ phase: 'dump', message: 'dumping' });
        if (o?.signal?.aborted) return { ok: false, from: r.from, to: r.to, sourcePid: r.pid, strategy: 'stop-and-copy', strategyReason: '', phases: {}, freezeMs: 0, totalMs: 1, bytes: 0, options: [], startedAt: '', error: 'The migration was cancelled; the process runs on.', rolledBack: true };
        const [here, there] = r.from === 'lab-a' ? [onA, onB] : [onB, onA];
        const moved = here.get(r.pid)!;
        here.delete(r.pid);
        there.set(r.pid + 1000, { ...moved, pid: r.pid + 1000 });
        return { ok: true, from: r.from, to: r.to, sourcePid: r.pid, destinationPid: r.pid + 1000, strategy: 'stop-and-copy', strategyReason: '', phases: {}, freezeMs: 5, totalMs: 9, bytes: 1, options: [], startedAt: '' };
      },
    };
    const full: Policies = { rules: [{ ...busy, forSeconds: 0 }], minSecondsBetweenMoves: 60, marked: [{ host: 'lab-a', pid: 10 }, { host: 'lab-a', command: '^ticker 30$' }], ...policies };
    const watcher = new PolicyWatcher(engine, new HostStates(engine, { maxAgeMs: 0 }), full, { configured: ['lab-a', 'lab-b'], onEvent: (e) => events.push(e), ...options });
    const tick = async (seconds: number, cores = busyCores) => {
      t = seconds;
      busyCores = cores;
      await watcher.tick();
    };
    return { watcher, tick, migrations, events, onA, onB };
  }

  it('moves only the marked processes, with the firing as their trigger, and keeps them marked on their new host', async () => {
    const { watcher, tick, migrations, events, onA } = setUp({});
    assert.deepEqual([watcher.watched, watcher.measured], [['lab-a'], ['lab-a', 'lab-b']], 'the destination is measured too, for placement');
    await watcher.checkMarks();
    await tick(0);
    assert.deepEqual(migrations.map((m) => [m.pid, m.from, m.to]), [[10, 'lab-a', 'lab-b'], [30, 'lab-a', 'lab-b']]);
    assert.ok(onA.has(20), 'the unmarked process stays');
    const moved = events.filter((e) => e.event === 'moved');
    assert.deepEqual(moved.map((e) => e.result?.trigger), Array(2).fill('policy busy-host: lab-a used 1.9 of 2 cores for 0 s (above 0.8 per core)'));
    assert.match(moved[0].message, /^moved PID 10 \(ticker\) from lab-a to lab-b, now PID 1010 there/);
    assert.deepEqual(watcher.marked.filter((m) => 'pid' in m).map((m) => [m.host, 'pid' in m && m.pid]), [['lab-b', 1010], ['lab-b', 1030]]);
  });

  it('with nothing marked on the busy host, nothing moves and it says so', async () => {
    const { tick, migrations, events } = setUp({ marked: [{ host: 'lab-b', pid: 10 }] });
    await tick(0);
    assert.deepEqual(migrations, []);
    assert.match(events.find((e) => e.event === 'not-moved')?.message ?? '', /no marked process runs on lab-a; nothing moved/);
  });

  it('largest-marked moves only the marked tree using the most CPU', async () => {
    const { tick, migrations } = setUp({ rules: [{ ...busy, forSeconds: 0, move: 'largest-marked' }] });
    await tick(0);
    assert.deepEqual(migrations.map((m) => m.pid), [30]);
  });

  it('never moves a process twice within minSecondsBetweenMoves', async () => {
    // Both hosts watched: the moved process makes lab-b busy in its turn.
    const { tick, migrations, events } = setUp({ rules: [{ ...busy, hosts: ['lab-a', 'lab-b'], among: undefined, forSeconds: 0 }], marked: [{ host: 'lab-a', pid: 10 }] });
    await tick(0);
    assert.deepEqual(migrations.map((m) => [m.pid, m.to]), [[10, 'lab-b']]);
    await tick(20, (h) => (h === 'lab-b' ? 1.9 : 0.1));
    assert.equal(migrations.length, 1);
    assert.match(events.find((e) => e.event === 'held')?.message ?? '', /PID 1010 on lab-b was moved 20 s ago; it stays for at least 60 s/);
    // Re-armed by an idle round (hysteresis), busy again past the minimum: it moves.
    await tick(70, () => 0.1);
    await tick(71, (h) => (h === 'lab-b' ? 1.9 : 0.1));
    assert.deepEqual(migrations.map((m) => [m.pid, m.from]), [[10, 'lab-a'], [1010, 'lab-b']]);
  });

  it('onMove is asked before each move: its signal cancels that move alone, and it hears its progress', async () => {
    const planned: PlannedMove[] = [];
    const progress: MigrationProgress[] = [];
    const { tick, migrations, events } = setUp({}, {
      onMove: (move) => {
        planned.push(move);
        // The user cancels the first move.
        return { signal: planned.length === 1 ? AbortSignal.abort() : undefined, onProgress: (p) => progress.push(p) };
      },
    });
    await tick(0);
    const reason = 'policy busy-host: lab-a used 1.9 of 2 cores for 0 s (above 0.8 per core)';
    assert.deepEqual(planned, [{ rule: 'busy-host', host: 'lab-a', pid: 10, name: 'ticker', reason }, { rule: 'busy-host', host: 'lab-a', pid: 30, name: 'ticker', reason }]);
    assert.deepEqual(migrations.map((m) => m.pid), [10, 30]);
    assert.deepEqual(events.filter((e) => e.event === 'moved' || e.event === 'not-moved').map((e) => [e.event, e.pid, e.result?.trigger]), [['not-moved', 10, reason], ['moved', 30, reason]]);
    assert.ok(progress.some((p) => p.phase === 'dump'), 'the progress reaches the hook');
  });

  it('marks set while it runs replace the old ones and keep the times of past moves', async () => {
    const { watcher, tick, migrations, events } = setUp({ rules: [{ ...busy, hosts: ['lab-a', 'lab-b'], among: undefined, forSeconds: 0 }], marked: [{ host: 'lab-a', pid: 10 }] });
    await tick(0);
    assert.deepEqual(migrations.map((m) => m.pid), [10]);
    watcher.setMarked([{ host: 'lab-b', pid: 1010 }, { host: 'lab-a', pid: 20 }]);
    assert.deepEqual(watcher.marked.map((m) => 'pid' in m && [m.host, m.pid, m.seen]), [['lab-b', 1010, 'ticker 10'], ['lab-a', 20, undefined]], 'what a tracked mark ran is kept');
    await tick(20, (h) => (h === 'lab-b' ? 1.9 : 0.1));
    assert.equal(migrations.length, 1, 'moved 20 s ago: held');
    assert.ok(events.some((e) => e.event === 'held' && e.pid === 1010));
  });

  it('a move that fails is said, counts as a move, and the others still move', async () => {
    const { tick, migrations, events } = setUp({ rules: [{ ...busy, forSeconds: 0, clearBelow: 0.8 }] }, {}, 10);
    await tick(0);
    assert.deepEqual(migrations.map((m) => m.pid), [10, 30]);
    assert.match(events.find((e) => e.event === 'not-moved')?.message ?? '', /^policy busy-host: PID 10 \(ticker\) on lab-a was not moved: lab-b closed the connection$/);
    await tick(10, () => 0.1);
    await tick(20, (h) => (h === 'lab-a' ? 1.9 : 0.1));
    assert.deepEqual(migrations.map((m) => m.pid), [10, 30]);
    assert.match(events.find((e) => e.event === 'held')?.message ?? '', /PID 10 on lab-a was moved 20 s ago/);
  });

  it('a dry run says where it would move the marked processes and why, and moves nothing', async () => {
    const { tick, migrations, events } = setUp({}, { dryRun: true });
    await tick(0);
    await tick(1);
    assert.deepEqual(migrations, []);
    const would = events.filter((e) => e.event === 'would-move');
    assert.deepEqual(would.map((e) => [e.pid, e.to]), [[10, 'lab-b'], [30, 'lab-b']], 'said once: the rule stays fired until it re-arms');
    assert.match(would[0].message, /^dry run: would move PID 10 \(ticker\) from lab-a to lab-b: lab-b has the most headroom .* \(policy busy-host: lab-a used 1\.9 of 2 cores/);
  });
});
