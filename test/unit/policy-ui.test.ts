// The extension's policies outside VS Code: the marks kept in workspaceState, the setting read
// into policies (off, invalid with its sentences, on), and the words of an automatic move.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlannedMove } from '../../src/automatic/watch';
import type { MigrationResult } from '../../src/migration/api';
import { MARKS_KEY, PolicyMarks } from '../../src/ui/policies/policyMarks';
import { markedTooltip, moveOutcomeText, movingTitle, readPolicySetting } from '../../src/ui/policies/policyText';
import type { MementoLike } from '../../src/ui/report/history';

function memento(): MementoLike & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return { data, get: <T>(key: string) => data.get(key) as T | undefined, update: async (key, value) => void data.set(key, value) };
}

const rule = { name: 'busy-host', hosts: ['lab-a'], when: { cpuPerCoreAbove: 0.5 }, forSeconds: 3, move: 'marked', to: 'auto', among: ['lab-b'] };

describe('policy marks (workspaceState)', () => {
  it('allows and stops by {host, pid}, once each, and says when they change', async () => {
    const store = memento();
    const marks = new PolicyMarks(store);
    let changes = 0;
    marks.onDidChange(() => changes++);
    await marks.allow([{ host: 'lab-a', pid: 10, seen: 'sh -c ticker' }]);
    await marks.allow([{ host: 'lab-a', pid: 10 }, { host: 'lab-b', pid: 10 }]);
    assert.deepEqual(store.data.get(MARKS_KEY), [{ host: 'lab-a', pid: 10, seen: 'sh -c ticker' }, { host: 'lab-b', pid: 10 }]);
    await marks.disallow([{ host: 'lab-b', pid: 10 }, { host: 'lab-c', pid: 1 }]);
    assert.deepEqual(marks.list().map((m) => m.host), ['lab-a']);
    assert.equal(changes, 3);
    await marks.disallow([{ host: 'lab-c', pid: 1 }]);
    assert.equal(changes, 3, 'nothing changed, nothing said');
  });

  it('a row is marked by its PID and the command it ran then, or by the setting', async () => {
    const marks = new PolicyMarks(memento());
    await marks.allow([{ host: 'lab-a', pid: 10, seen: 'sh -c ticker' }, { host: 'lab-a', pid: 11 }]);
    marks.setConfigured([{ host: 'lab-b', command: 'train\\.py' }, { host: 'lab-b', pid: 7 }]);
    assert.equal(marks.markOf('lab-a', 10, 'sh -c ticker'), 'workspace');
    assert.equal(marks.markOf('lab-a', 10, 'vim notes'), undefined, 'the PID now runs another program');
    assert.equal(marks.markOf('lab-a', 11, 'anything'), 'workspace');
    assert.equal(marks.markOf('lab-b', 10, 'sh -c ticker'), undefined, 'another host');
    assert.equal(marks.markOf('lab-b', 99, 'python3 train.py'), 'setting');
    assert.equal(marks.markOf('lab-b', 7, 'x'), 'setting');
    assert.equal(marks.all().length, 4, 'the watcher gets both');
  });

  it('a moved process stays marked on its new host under its new PID', async () => {
    const marks = new PolicyMarks(memento());
    await marks.allow([{ host: 'lab-a', pid: 10, seen: 'sh -c ticker' }, { host: 'lab-a', pid: 11 }]);
    await marks.moved({ host: 'lab-a', pid: 10 }, { host: 'lab-b', pid: 4242, seen: 'sh -c ticker' });
    assert.deepEqual(marks.list(), [{ host: 'lab-a', pid: 11 }, { host: 'lab-b', pid: 4242, seen: 'sh -c ticker' }]);
    // Marked by the setting alone: marked in the workspace where it went.
    await marks.moved({ host: 'lab-c', pid: 5 }, { host: 'lab-b', pid: 77 });
    assert.equal(marks.markOf('lab-b', 77, 'x'), 'workspace');
  });
});

describe('the setting processMigrator.policies', () => {
  it('runs nothing when it has no rules', () => {
    for (const value of [undefined, null, {}, { rules: [] }, { rules: [], minSecondsBetweenMoves: 60 }]) assert.deepEqual(readPolicySetting(value), { state: 'off' }, JSON.stringify(value));
  });

  it('is checked like the policy file: one message with every sentence', () => {
    const r = readPolicySetting({ rules: [{ ...rule, forSeconds: '3', move: 'all' }], minSecondsBetweenMoves: -1 });
    assert.equal(r.state, 'invalid');
    assert.equal(
      r.state === 'invalid' && r.message,
      'The setting processMigrator.policies is not valid, so no policy runs: minSecondsBetweenMoves must be a number of seconds, 0 or more. ' +
        'rules[0].forSeconds must be a number of seconds, 0 or more. rules[0].move must be "marked" or "largest-marked".',
    );
    assert.equal(readPolicySetting([rule]).state, 'invalid');
  });

  it('gives the policies, with defaults', () => {
    const r = readPolicySetting({ rules: [rule], minSecondsBetweenMoves: 60 });
    assert.equal(r.state, 'on');
    assert.deepEqual(r.state === 'on' && [r.policies.rules.map((x) => x.name), r.policies.minSecondsBetweenMoves, r.policies.marked], [['busy-host'], 60, []]);
  });
});

describe('the words of an automatic move', () => {
  const move: PlannedMove = { rule: 'busy-host', host: 'lab-a', pid: 10, name: 'sh', reason: 'policy busy-host: lab-a used 1.9 of 2 cores for 3 s (above 0.5 per core)' };
  const result = (over: Partial<MigrationResult>): MigrationResult => ({
    ok: true, from: 'lab-a', to: 'lab-b', sourcePid: 10, destinationPid: 4242, strategy: 'stop-and-copy', strategyReason: '', phases: {}, freezeMs: 80, totalMs: 900, bytes: 1, options: [], startedAt: '', trigger: move.reason, ...over,
  });

  it('the progress says which policy moves what off where', () => {
    assert.equal(movingTitle(move), 'Policy busy-host: moving PID 10 (sh) off lab-a…');
  });

  it('the notification says what moved where, and why', () => {
    assert.equal(moveOutcomeText(move, result({})), 'Policy busy-host moved sh (PID 10) from lab-a to lab-b, now PID 4242 there, because lab-a used 1.9 of 2 cores for 3 s (above 0.5 per core).');
    assert.equal(
      moveOutcomeText(move, result({ ok: false, destinationPid: undefined, error: 'The migration was cancelled; the process runs on lab-a.' })),
      'Policy busy-host tried to move sh (PID 10) off lab-a because lab-a used 1.9 of 2 cores for 3 s (above 0.5 per core), and did not: The migration was cancelled; the process runs on lab-a.',
    );
  });

  it('a marked row says who marked it', () => {
    assert.match(markedTooltip('workspace'), /^Automatic moves allowed: a rule of processMigrator\.policies may move it to another host\. Stop Automatic Moves takes it back\.$/);
    assert.match(markedTooltip('setting'), /marked in the setting processMigrator\.policies \("marked"\)/);
  });
});
