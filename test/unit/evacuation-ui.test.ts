// The host-free texts of the evacuation UI and of the host rows' measured state: the row's
// description and tooltip rows, the history entries and sentence of an evacuation, the report's
// batch title and left rows, and which hosts have evacuated processes to bring back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvacuationResult } from '../../src/automatic/evacuate';
import type { HostState, MigrationResult } from '../../src/migration/api';
import { evacuationMembers, evacuationSummary } from '../../src/ui/migrate/evacuationText';
import { MigrationHistory, type HistoryEntry, type MementoLike } from '../../src/ui/report/history';
import { batchTitle, renderReportHtml } from '../../src/ui/report/reportHtml';
import { measuredDescription, measuredRows } from '../../src/ui/view/hostStateText';

const GiB = 1 << 20; // in KiB

function state(extra: Partial<HostState> = {}): HostState {
  return { host: 'lab-a', measuredAt: 1_000_000, cpus: 2, load1PerCore: 0.6, load5PerCore: 0.5, memAvailableKiB: 3.1 * GiB, diskAvailableKiB: 20 * GiB, criuVersion: '4.1', arch: 'x86_64', rttMs: 4, ...extra };
}

function moved(pid: number, extra: Partial<MigrationResult> = {}): MigrationResult {
  return {
    ok: true, from: 'lab-a', to: 'lab-b', sourcePid: pid, destinationPid: pid + 1000, strategy: 'stop-and-copy', strategyReason: 'small', phases: { dump: 10 },
    freezeMs: 50, totalMs: 90, bytes: 1 << 20, options: [], startedAt: `2026-01-01T00:00:0${pid % 10}.000Z`, trigger: 'evacuation of lab-a', ...extra,
  };
}

function memento(): MementoLike {
  const values = new Map<string, unknown>();
  return { get: <T>(k: string) => values.get(k) as T | undefined, update: async (k, v) => void values.set(k, v) };
}

describe('ui: a host row words its measured state (view/hostStateText)', () => {
  it('cores busy (from the load until measured twice), memory free and the round trip', () => {
    assert.equal(measuredDescription(state()), '1.2/2 cores busy · 3.1 GiB free · 4 ms');
    assert.equal(measuredDescription(state({ busyCores: 0.25, rttMs: undefined })), '0.3/2 cores busy · 3.1 GiB free');
  });

  it('marks a stale state stale, with why; one never measured says only why', () => {
    assert.equal(measuredDescription(state({ stale: 'measured 20 s ago' })), '1.2/2 cores busy · 3.1 GiB free · 4 ms (stale: measured 20 s ago)');
    assert.equal(measuredDescription(state({ cpus: 0, stale: 'not measured: connection refused.' })), '(stale: not measured: connection refused)');
  });

  it('the tooltip: age, load per core, disk, CRIU and architecture', () => {
    const rows = new Map(measuredRows(state({ memLimitKiB: 4 * GiB }), 1_003_000));
    assert.equal(rows.get('Measured'), '3 s ago');
    assert.equal(rows.get('Load per core'), '0.60 (1 min), 0.50 (5 min) on 2 cores');
    assert.equal(rows.get('Memory available'), '3.1 GiB (cgroup limit 4.0 GiB)');
    assert.equal(rows.get('Disk for images'), '20.0 GiB free');
    assert.equal(rows.get('CRIU'), '4.1');
    assert.equal(rows.get('Architecture'), 'x86_64');
    assert.deepEqual(measuredRows(state({ cpus: 0, stale: 'not measured: timeout' })), [['Measured', 'never: not measured: timeout']]);
  });
});

describe('ui: an evacuation in the history, the report and one sentence (migrate/evacuationText)', () => {
  const evacuation: EvacuationResult = {
    ok: true, from: 'lab-a', totalMs: 900,
    results: [moved(11), moved(12)],
    left: [{ pid: 13, name: 'node', reason: 'It uses io_uring, which CRIU cannot checkpoint.' }],
  };
  const names = new Map([[11, 'ticker'], [12, 'worker']]);

  it('moved trees first, then those left: never frozen, with their reason and the trigger', () => {
    const members = evacuationMembers(evacuation, 'lab-b', (pid) => names.get(pid));
    assert.deepEqual(members.map((m) => [m.name, m.result.sourcePid, m.left ?? false]), [['ticker', 11, false], ['worker', 12, false], ['node', 13, true]]);
    const left = members[2].result;
    assert.equal(left.ok, false);
    assert.equal(left.freezeMs, 0);
    assert.equal(left.rolledBack, true);
    assert.equal(left.trigger, 'evacuation of lab-a');
    assert.match(left.error!, /io_uring/);
  });

  it('one sentence: how many moved where, and each left with why', () => {
    assert.equal(
      evacuationSummary(evacuation, (pid) => names.get(pid)),
      'Evacuated lab-a: 2 processes moved (to lab-b); 1 left: node (PID 13): It uses io_uring, which CRIU cannot checkpoint.',
    );
    const failed = { ...evacuation, ok: false, results: [moved(11, { ok: false, error: 'The restore failed.' })], left: [] };
    assert.equal(evacuationSummary(failed, (pid) => names.get(pid)), 'Evacuated lab-a: nothing moved; ticker (PID 11) failed and kept running: The restore failed.');
    assert.equal(evacuationSummary({ ...evacuation, results: [], left: [], error: 'lab-a is unreachable.' }), 'Evacuating lab-a failed: lab-a is unreachable; every process still runs there.');
  });

  it('the report titles the batch and shows the left ones as left, never frozen', async () => {
    const history = new MigrationHistory(memento());
    const batch = { batchId: 'b1', batchLabel: 'Evacuation of lab-a' };
    const entries: HistoryEntry[] = [];
    for (const m of evacuationMembers(evacuation, 'lab-b', (pid) => names.get(pid))) entries.push(await history.add(m.result, m.name, { ...batch, ...(m.left ? { left: true } : {}) }));
    const all = history.batchOf(entries[0]);
    assert.equal(batchTitle(all), 'Evacuation of lab-a: 2 moved, 1 left');
    const html = renderReportHtml({ selected: entries[2], batch: all, history: history.entries(), nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(html, /<span class="badge left">Left<\/span> node \(PID 13\) stays on <b>lab-a<\/b> \(never frozen\): It uses io_uring/);
    assert.match(html, /ticker \(PID 11\)/);
    assert.match(html, /now PID 1011 on lab-b/);
    assert.match(html, /Started by evacuation of lab-a\./);
    const movedHtml = renderReportHtml({ selected: entries[0], batch: all, history: history.entries(), nonce: 'n', cspSource: 'c', styleUri: 's' });
    assert.match(movedHtml, /data-fact="Started by">evacuation of lab-a</);
  });
});

describe('ui: the processes an evacuation moved off a host, still away (report/history)', () => {
  it('finds them by the trigger until they are brought back or moved on', async () => {
    const history = new MigrationHistory(memento());
    await history.add(moved(11));
    await history.add(moved(12));
    await history.add(moved(21, { trigger: undefined })); // moved by hand: not the evacuation's
    assert.deepEqual(history.evacuatedFrom('lab-a').map((e) => e.result.sourcePid).sort(), [11, 12]);
    assert.deepEqual(history.evacuatedFrom('lab-b'), []);
    // 11 comes back (now PID 1011 on lab-b → lab-a).
    await history.add(moved(1011, { from: 'lab-b', to: 'lab-a', destinationPid: 11, trigger: 'bring back all to lab-a', startedAt: '2026-01-01T00:01:00.000Z' }));
    assert.deepEqual(history.evacuatedFrom('lab-a').map((e) => e.result.sourcePid), [12]);
  });
});
