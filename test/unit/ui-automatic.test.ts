// The host-free parts of the automatic-migration UI (#11): host rows' measured state, the policies
// setting, the marks of Allow Automatic Moves, evacuation and Bring Back All in the history, the
// protection's questions, and the report's placement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvacuationResult, HostState, MigrationResult, Placement } from '../../src/migration/api';
import { AutoMarks } from '../../src/ui/auto/autoMarks';
import { policyFromSettings } from '../../src/ui/auto/policySettings';
import { bringBackGroups } from '../../src/ui/migrate/bringBackGroups';
import { evacuationEntries, evacuationSummary } from '../../src/ui/migrate/evacuationText';
import { failoverQuestion, failoverResult, protectionText } from '../../src/ui/protect/protectText';
import { homeOf, MigrationHistory, type MementoLike } from '../../src/ui/report/history';
import { placementSection, renderReportHtml } from '../../src/ui/report/reportHtml';
import { measuredDescription, measuredRows, staleText } from '../../src/ui/view/hostStateText';

class Memento implements MementoLike {
  private readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.data.set(key, value);
  }
}

const MiB = 1 << 20;
const GiB = 1 << 30;

function measured(extra: Partial<HostState> = {}): HostState {
  return {
    host: 'lab-a', measuredAt: new Date(Date.now() - 5_000).toISOString(), stale: false, cpus: 2, load1: 0.42, load5: 0.3,
    memAvailableBytes: 1.5 * GiB, memLimitBytes: 2 * GiB, diskFreeBytes: 20 * GiB,
    link: { from: 'local', to: 'lab-a', rttMs: 0.8, measuredAt: new Date().toISOString() }, ...extra,
  };
}

function result(extra: Partial<MigrationResult> = {}): MigrationResult {
  return {
    ok: true, from: 'lab-a', to: 'lab-b', sourcePid: 42, destinationPid: 4242, strategy: 'stop-and-copy', strategyReason: 'small',
    phases: { dump: 300 }, freezeMs: 500, totalMs: 700, bytes: 3 * MiB, options: [], startedAt: new Date().toISOString(), ...extra,
  };
}

describe('ui: a host row says its measured state (view/hostStateText)', () => {
  it('load per core, available memory, free disk and RTT', () => {
    assert.equal(measuredDescription(measured()), 'load 0.42/core · 1.5 GiB avail · 20.0 GiB disk · 0.8 ms');
    const rows = new Map(measuredRows(measured()));
    assert.match(rows.get('Load per core')!, /0\.42 \(1 min\), 0\.30 \(5 min\) on 2 usable cores/);
    assert.equal(rows.get('Memory available'), '1.5 GiB of a 2.0 GiB cgroup limit');
    assert.equal(rows.get('Link from local'), 'RTT 0.8 ms');
    assert.equal(staleText(measured()), undefined);
  });

  it('a stale state says so, and why', () => {
    const stale = measured({ stale: true, error: 'lab-a did not answer.' });
    assert.match(measuredDescription(stale), /^stale · load/);
    assert.equal(staleText(stale), 'Stale: the last probe failed (lab-a did not answer).');
    assert.equal(measuredDescription(measured({ stale: true, measuredAt: undefined })), 'not measured');
    assert.match(staleText(measured({ stale: true }))!, /^Stale: last measured \d+ s ago\.$/);
  });
});

describe('ui: the processMigrator.policies setting (auto/policySettings)', () => {
  it('is the policy file plus dryRun; the rows marked join its marked', () => {
    const rules = [{ host: 'lab-a', loadPerCoreAbove: 0.9, forSeconds: 60 }];
    const marks = [{ host: 'lab-a', pid: 42, name: 'train.py', markedAt: '2026-01-01T00:00:00.000Z' }];
    assert.deepEqual(policyFromSettings({ rules, marked: [{ command: 'train\\.py' }], minSecondsBetweenMoves: 600, dryRun: true }, marks), {
      policy: { rules, marked: [{ command: 'train\\.py' }, { host: 'lab-a', pid: 42 }], minSecondsBetweenMoves: 600 },
      dryRun: true,
    });
    assert.deepEqual(policyFromSettings({ rules }, []), { policy: { rules, marked: [] }, dryRun: false });
  });

  it('no rules: nothing to run', () => {
    for (const setting of [undefined, {}, { rules: [] }, 'x', { rules: 'x' }]) assert.equal(policyFromSettings(setting, []), undefined);
  });
});

describe('ui: Allow Automatic Moves marks (auto/autoMarks)', () => {
  it('a mark is per host and PID, guards against a reused PID, and follows its process', async () => {
    const marks = new AutoMarks(new Memento());
    let changes = 0;
    marks.onDidChange(() => changes++);
    await marks.allow('lab-a', 100, 'train.py');
    assert.ok(marks.isMarked('lab-a', 100, 'train.py'));
    assert.ok(!marks.isMarked('lab-a', 100, 'bash'), 'the PID now belongs to another program');
    assert.ok(!marks.isMarked('lab-b', 100));
    await marks.moved({ host: 'lab-a', pid: 100 }, { host: 'lab-b', pid: 7 });
    assert.ok(!marks.isMarked('lab-a', 100) && marks.isMarked('lab-b', 7, 'train.py'));
    await marks.disallow('lab-b', 7);
    assert.deepEqual(marks.list(), []);
    assert.equal(changes, 3);
  });

  it('prunes the marks of processes that ended, keeping those of hosts not asked', async () => {
    const marks = new AutoMarks(new Memento());
    await marks.allow('lab-a', 1, 'a');
    await marks.allow('lab-a', 2, 'b');
    await marks.allow('lab-b', 3, 'c');
    await marks.prune((host) => (host === 'lab-a' ? new Map([[1, 'a'], [2, 'other']]) : undefined));
    assert.deepEqual(marks.list().map((m) => m.pid), [1, 3]);
  });
});

describe('ui: an evacuation in the history and the report (migrate/evacuationText)', () => {
  const evacuation: EvacuationResult = {
    ok: true, from: 'lab-a', totalMs: 3000,
    processes: [result({ sourcePid: 10, destinationPid: 20 }), result({ sourcePid: 11, destinationPid: 21, to: 'lab-c' })],
    left: [{ pid: 12, name: 'sshd', reason: 'It is not yours: it runs as root.' }],
  };

  it('one batch: the moved with their trigger, then those left, never frozen, with their reasons', async () => {
    const entries = evacuationEntries(evacuation, 'auto', (pid) => ({ 10: 'a', 11: 'b' })[pid], '2026-01-01T00:00:00.000Z');
    assert.deepEqual(entries.map((e) => [e.result.sourcePid, e.result.ok, e.details.left ?? false, e.result.trigger]), [
      [10, true, false, 'evacuation of lab-a'], [11, true, false, 'evacuation of lab-a'], [12, false, true, 'evacuation of lab-a'],
    ]);
    assert.equal(new Set(entries.map((e) => e.details.batchId)).size, 1);
    assert.equal(entries[2].result.freezeMs, 0);

    const history = new MigrationHistory(new Memento());
    for (const e of entries) await history.add(e.result, e.name, e.details);
    const batch = history.batchOf(history.latest()!);
    const html = renderReportHtml({ selected: batch[0], batch, history: history.entries(), nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /Evacuation of lab-a: 2 moved, 1 left/);
    assert.match(html, /left on lab-a: It is not yours: it runs as root\./);
    assert.match(html, /Started by<\/th><td data-fact="Started by">evacuation of lab-a/);
    const leftPage = renderReportHtml({ selected: batch[2], batch, history: [], nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(leftPage, /badge left">Left<\/span> sshd \(PID 12\) stays on <b>lab-a<\/b> \(never frozen\)/);
  });

  it('one sentence for the notification', () => {
    assert.equal(
      evacuationSummary(evacuation),
      'Evacuated lab-a: 2 processes moved (to lab-b, lab-c); 1 left: sshd (PID 12): It is not yours: it runs as root.',
    );
    assert.equal(evacuationSummary({ ok: false, from: 'lab-a', totalMs: 0, processes: [], left: [], error: 'lab-a did not answer.' }), 'Evacuated lab-a: nothing moved. lab-a did not answer.');
  });
});

describe('ui: Bring Back All (report/history movedOff, migrate/bringBackGroups)', () => {
  it('returns each process to where it started, one batch per home and current host', async () => {
    const history = new MigrationHistory(new Memento());
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    await history.add(result({ from: 'lab-a', to: 'lab-b', sourcePid: 1, destinationPid: 11, startedAt: t(1) }));
    await history.add(result({ from: 'lab-a', to: 'lab-b', sourcePid: 2, destinationPid: 12, startedAt: t(2) }));
    await history.add(result({ from: 'lab-b', to: 'lab-c', sourcePid: 12, destinationPid: 22, startedAt: t(3) })); // moved on
    await history.add(result({ from: 'local', to: 'lab-b', sourcePid: 3, destinationPid: 13, startedAt: t(4) }));
    await history.add(result({ from: 'lab-a', to: 'lab-b', sourcePid: 4, ok: false, destinationPid: undefined, startedAt: t(5) }));
    const all = history.entries();
    const offA = history.movedOff('lab-a');
    assert.deepEqual(offA.map((e) => e.result.destinationPid).sort(), [11, 22]);
    assert.equal(homeOf(all, offA.find((e) => e.result.destinationPid === 22)!), 'lab-a');
    assert.deepEqual(bringBackGroups(offA, (e) => homeOf(all, e)).sort((a, b) => a.from.localeCompare(b.from)), [
      { home: 'lab-a', from: 'lab-b', pids: [11] },
      { home: 'lab-a', from: 'lab-c', pids: [22] },
    ]);
    assert.equal(history.movedOff().length, 3);
  });
});

describe('ui: protection (protect/protectText)', () => {
  const at = new Date(2026, 0, 1, 14, 2, 30).toISOString();

  it('asks before restoring, in the words of the issue', () => {
    assert.equal(
      failoverQuestion({ host: 'lab-a', standby: 'lab-b', silentForMs: 60_000, checkpointAt: at }, 'train.py'),
      'lab-a has not answered for 60 s: restore train.py from its 14:02 checkpoint on lab-b?',
    );
  });

  it('the row says where and the last checkpoint; a failover is an automatic move in the history', () => {
    assert.equal(protectionText('lab-b'), 'protected on lab-b, first checkpoint under way');
    assert.equal(protectionText('lab-b', { kind: 'checkpoint', at, generation: 3, freezeMs: 85, totalMs: 900, bytes: 1 }), 'protected on lab-b, checkpoint 14:02 (frozen 85 ms)');
    const r = failoverResult({ kind: 'failover', ok: true, host: 'lab-a', standby: 'lab-b', checkpointAt: at, workLostMs: 4000, detectionToRunningMs: 1200, destinationPid: 9 }, 5, at);
    assert.deepEqual([r.from, r.to, r.sourcePid, r.destinationPid, r.trigger], ['lab-a', 'lab-b', 5, 9, 'failover: lab-a stopped answering']);
    assert.match(r.strategyReason, /14:02, 4\.00 s of work lost/);
  });
});

describe('ui: the report shows the placement (report/reportHtml)', () => {
  const placement: Placement = {
    to: 'lab-b', reason: 'lab-b has the most headroom: 1.6 idle cores and 1.2 GiB available.',
    candidates: [
      { host: 'lab-b', feasible: true, score: 0.8, reason: 'Most headroom.' },
      { host: 'lab-c', feasible: true, score: 0.3, reason: 'Busier: 0.4 idle cores.' },
      { host: 'local', feasible: false, reason: 'CRIU is not installed there.' },
    ],
  };

  it('the chosen host and why each other was passed over', () => {
    const html = placementSection(placement);
    assert.match(html, /Chose <b>lab-b<\/b>: lab-b has the most headroom/);
    assert.match(html, /data-host="lab-c"><td>lab-c<\/td><td>passed over<\/td><td>0\.30<\/td><td>Busier: 0\.4 idle cores\.<\/td>/);
    assert.match(html, /data-host="local"><td>local<\/td><td>not feasible<\/td><td>—<\/td><td>CRIU is not installed there\.<\/td>/);
    const history = [{ id: 'x', name: 'counter', result: result({ placement }) }];
    assert.match(renderReportHtml({ selected: history[0], history, nonce: 'n', cspSource: 'c', styleUri: 's' }), /<h2>Placement<\/h2>/);
    assert.match(placementSection({ reason: 'No host has 2 GiB available.', candidates: [] }), /No host fits: No host has 2 GiB available\./);
  });
});
