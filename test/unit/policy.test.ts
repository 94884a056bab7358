// The policy evaluator over synthetic host samples in time: hysteresis, the hold time, the
// minimum time between two moves of one process, marked processes only, and the policy file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostState } from '../../src/migration/api';
import type { Policy, PolicyMove } from '../../src/migration/api';
import { evaluatePolicy, initialPolicyState, markedOn, parsePolicy, type MarkedProcess, type PolicyState } from '../../src/migration/automatic/policy';

const GiB = 1024 ** 3;

function sample(host: string, load1: number, memGiB = 8, stale = false): HostState {
  return { host, stale, cpus: 2, load1, load5: load1, memAvailableBytes: memGiB * GiB, diskFreeBytes: 100 * GiB };
}

const MARKED: MarkedProcess[] = [
  { host: 'lab-a', pid: 10, name: 'train', cpu: 180, rssKiB: 1_000_000 },
  { host: 'lab-a', pid: 11, name: 'cache', cpu: 5, rssKiB: 4_000_000 },
  { host: 'lab-b', pid: 12, name: 'other', cpu: 99, rssKiB: 1 },
];

/** Feeds samples (seconds, lab-a's load, lab-a's GiB available) in turn; returns each second's moves. */
function run(policy: Policy, series: [number, number, number?][], marked = MARKED, state: PolicyState = initialPolicyState(policy)) {
  const fired: [number, PolicyMove[]][] = [];
  for (const [t, load, mem] of series) {
    const out = evaluatePolicy(policy, state, t * 1000, [sample('lab-a', load, mem), sample('lab-b', 0.1)], marked);
    state = out.state;
    if (out.moves.length) fired.push([t, out.moves]);
  }
  return { fired, state };
}

const busy: Policy = { rules: [{ name: 'busy', host: 'lab-a', loadPerCoreAbove: 0.9, loadClearBelow: 0.5, forSeconds: 30, to: 'lab-b' }], marked: [], minSecondsBetweenMoves: 120 };

describe('evaluatePolicy', () => {
  it('fires only after the load has stayed above the threshold for the hold time, moving the largest CPU user', () => {
    const { fired } = run(busy, [[0, 1.5], [10, 1.5], [20, 1.2], [29, 1.0], [30, 1.1]]);
    assert.equal(fired.length, 1);
    const [t, moves] = fired[0];
    assert.equal(t, 30);
    assert.deepEqual(moves.map((m) => [m.host, m.pid, m.to]), [['lab-a', 10, 'lab-b']]);
    assert.equal(moves[0].trigger, "Policy 'busy': lab-a's load per core stayed above 0.9 for 30 s (1.1 now).");
  });

  it('a dip that does not clear (between the thresholds) keeps the hold; one below the clear threshold restarts it', () => {
    assert.equal(run(busy, [[0, 1.5], [15, 0.7], [30, 1.5]]).fired[0]?.[0], 30);
    assert.deepEqual(run(busy, [[0, 1.5], [15, 0.4], [30, 1.5], [50, 1.5]]).fired, []);
    assert.equal(run(busy, [[0, 1.5], [15, 0.4], [30, 1.5], [60, 1.5]]).fired[0]?.[0], 60);
  });

  it('a load between the thresholds does not trip a rule that was clear', () => {
    assert.deepEqual(run(busy, [[0, 0.8], [30, 0.85], [60, 0.9]]).fired, []);
  });

  it('while it stays high it fires again each hold time, but never moves one process twice within the minimum gap', () => {
    // The moved process (10) stays on lab-a in this series, as when its move failed.
    const { fired } = run(busy, [[0, 2], [30, 2], [60, 2], [90, 2], [150, 2]]);
    assert.deepEqual(fired.map(([t, m]) => [t, m.map((x) => x.pid)]), [[30, [10]], [60, [11]], [150, [10]]]);
  });

  it('memory: the largest RSS among the marked moves; `all` moves every marked process on the host; to auto by default', () => {
    const mem: Policy = { rules: [{ host: 'lab-a', memAvailableBelowMiB: 1024, forSeconds: 10 }], marked: [] };
    const { fired } = run(mem, [[0, 0.1, 0.5], [10, 0.1, 0.5]]);
    assert.deepEqual(fired[0][1].map((m) => [m.pid, m.to]), [[11, 'auto']]);
    assert.match(fired[0][1][0].trigger, /^Policy 'rule 1': lab-a's available memory stayed below 1024 MiB for 10 s \(512 MiB now\)\.$/);
    const all: Policy = { ...mem, rules: [{ ...mem.rules[0], move: 'all' }] };
    assert.deepEqual(run(all, [[0, 0.1, 0.5], [10, 0.1, 0.5]]).fired[0][1].map((m) => m.pid), [10, 11]);
    // Clears only above 125 % of the threshold: 1.1 GiB keeps it tripped.
    assert.equal(run(mem, [[0, 0.1, 0.5], [5, 0.1, 1.1], [10, 0.1, 0.5]]).fired.length, 1);
    assert.equal(run(mem, [[0, 0.1, 0.5], [5, 0.1, 1.5], [10, 0.1, 0.5]]).fired.length, 0);
  });

  it('stale samples change nothing; unmarked hosts and processes never move; no move to the host itself', () => {
    const policy = busy;
    let state = initialPolicyState(policy);
    state = evaluatePolicy(policy, state, 0, [sample('lab-a', 2)], MARKED).state;
    const staleOut = evaluatePolicy(policy, state, 30_000, [sample('lab-a', 0.1, 8, true)], MARKED);
    assert.deepEqual(staleOut.moves, [], 'nothing fires on a stale sample');
    assert.equal(evaluatePolicy(policy, staleOut.state, 31_000, [sample('lab-a', 2)], MARKED).moves.length, 1, 'and the stale sample did not clear the hold');
    assert.deepEqual(run(busy, [[0, 2], [30, 2]], []).fired, [], 'nothing marked, nothing moves');
    const self: Policy = { rules: [{ host: 'lab-a', loadPerCoreAbove: 0.5, to: 'lab-a' }], marked: [] };
    assert.deepEqual(run(self, [[0, 2]]).fired, []);
  });
});

describe('markedOn', () => {
  const ps = [
    { pid: 10, ppid: 1, command: 'python3 train.py' },
    { pid: 11, ppid: 10, command: 'python3 train.py --worker' },
    { pid: 20, ppid: 1, command: 'node server.js' },
    { pid: 30, ppid: 1, command: 'sleep 100' },
  ];
  it('matches by PID on its host and by command pattern; a marked child moves with its marked parent', () => {
    const policy = parsePolicy({ rules: [{ host: 'lab-a', loadPerCoreAbove: 1 }], marked: [{ command: 'train\\.py' }, { host: 'lab-a', pid: 20 }, { host: 'lab-b', pid: 30 }] });
    assert.deepEqual(markedOn(policy, 'lab-a', ps).map((p) => p.pid), [10, 20]);
    assert.deepEqual(markedOn(policy, 'lab-b', ps).map((p) => p.pid), [10, 30]);
  });
});

describe('parsePolicy', () => {
  it('names what is wrong in one sentence', () => {
    assert.throws(() => parsePolicy({ rules: [], marked: [] }, 'p.json'), /^Error: p\.json: "rules" must be a non-empty array\.$/);
    assert.throws(() => parsePolicy({ rules: [{ host: 'a' }], marked: [] }), /rule 1 has no condition/);
    assert.throws(() => parsePolicy({ rules: [{ host: 'a', loadPerCoreAbove: 1, loadClearBelow: 2 }], marked: [] }), /"loadClearBelow" is above/);
    assert.throws(() => parsePolicy({ rules: [{ host: 'a', loadPerCoreAbove: 1 }], marked: [{ pid: 3 }] }), /marked entry 1 needs/);
    assert.throws(() => parsePolicy({ rules: [{ host: 'a', loadPerCoreAbove: 1 }], marked: [{ command: '(' }] }), /not a regular expression/);
  });
});
