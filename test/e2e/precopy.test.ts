// Pre-copy end to end. The lab's kernel has no soft-dirty tracking, so real pre-copy cannot run
// here (CRIU aborts any pre-dump). These tests use CriuEngine's TEST-ONLY untracked mode: every
// round is a whole `dump --leave-running` and rounds are not linked as parents (CRIU trusts a
// parent only with tracking), so the freeze saves nothing. What they do exercise for real: the
// rounds while the process runs, a page server per round in its own directory behind one
// tunnel, CRIU's stats driving the stop policy, the final dump, the restore with memory intact,
// and the rollback of rounds. The tracked argv (--track-mem, --prev-images-dir ../N, page
// server --prev-images-dir) is covered by test/unit/pre-copy.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriuEngine } from '../../src/checkpoint/criu';
import { createEngine } from '../../src/migration/engine';
import { onHost, sshConfig, startMemoryHolder, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

const criuProcesses = (host: string) => onHost(host, `pgrep -x criu | wc -l`);

describe('pre-copy (untracked test mode: whole rounds, no soft-dirty here)', () => {
  it('copies the memory in rounds while the process runs, each to its own page server, then freezes once; memory and counter intact', async () => {
    const { pid, sum } = await startMemoryHolder(A, B, 64, 'e2e-pre', cleanup);
    const engine = createEngine({ sshConfigFile: sshConfig }, new CriuEngine({ untrackedRounds: true }));
    cleanup.push(() => engine.dispose());
    const seen: string[] = [];
    const result = await engine.migrate({ pid, from: A, to: B, strategy: 'pre-copy' }, { onProgress: (p) => seen.push(`${p.phase}: ${p.message}`) });
    assert.equal(result.ok, true, result.error);
    assert.equal(result.strategy, 'pre-copy');
    assert.equal(result.strategyReason, 'requested');
    assert.ok(result.options.some((o) => /TEST MODE/.test(o.option)), 'the report says the rounds were untracked');

    const rounds = result.rounds ?? [];
    const live = rounds.filter((r) => !r.final);
    assert.ok(live.length >= 2, `at least two rounds ran: ${JSON.stringify(rounds)}`);
    for (const r of live) assert.ok(r.bytes >= 64 << 20, `an untracked round copies all memory: ${JSON.stringify(r)}`);
    assert.equal(rounds.at(-1)?.final, true, 'the final dump is reported as the last round');
    assert.match(result.roundsStopped ?? '', /^(no progress|converged|round limit): /);
    assert.equal(typeof result.phases.rounds, 'number');
    assert.ok(seen.some((s) => s.startsWith('rounds: round 2')), seen.join('\n'));
    assert.ok(result.bytes >= (live.length + 1) * (64 << 20), 'every round and the final dump crossed the link');

    assert.equal(await stateOf(A, pid), 'gone');
    assert.equal(result.destinationPid, pid);
    assert.equal(await stateOf(B, pid), 'running');
    const count = Number(await onHost(B, `cat /tmp/e2e-pre-count 2>/dev/null || echo 0`));
    assert.ok(await tickerAdvancesFrom(B, '/tmp/e2e-pre-count', count), 'the counter goes on on lab-b');
    await onHost(B, `kill -USR1 ${pid}`);
    await waitFor(async () => (await onHost(B, `cat /tmp/e2e-pre-after 2>/dev/null || true`)).length === 64, 30_000);
    assert.equal(await onHost(B, `cat /tmp/e2e-pre-after`), sum, 'memory checksum after restore');
    assert.deepEqual([await criuProcesses(A), await criuProcesses(B)], ['0', '0'], 'no page server or CRIU is left');
  });

  it('cancelled between rounds: nothing was frozen, the process runs on, no CRIU or images are left', async () => {
    const { pid } = await startMemoryHolder(A, B, 32, 'e2e-pre-cancel', cleanup);
    const engine = createEngine({ sshConfigFile: sshConfig }, new CriuEngine({ untrackedRounds: true }));
    cleanup.push(() => engine.dispose());
    const imagesBefore = await imageDirs();
    const abort = new AbortController();
    const result = await engine.migrate(
      { pid, from: A, to: B, strategy: 'pre-copy' },
      { signal: abort.signal, onProgress: (p) => p.message.startsWith('round 2') && abort.abort() },
    );
    assert.equal(result.ok, false);
    assert.equal(result.rolledBack, true);
    assert.match(result.error ?? '', /^Cancelled/);
    assert.equal(result.freezeMs, 0, 'the rounds never froze it for the migration');
    assert.equal(await stateOf(A, pid), 'running');
    assert.ok(await tickerAdvances(A, '/tmp/e2e-pre-cancel-count'), 'it keeps running on lab-a');
    assert.equal(await stateOf(B, pid), 'gone');
    assert.deepEqual([await criuProcesses(A), await criuProcesses(B)], ['0', '0']);
    assert.deepEqual(await imageDirs(), imagesBefore, 'the rounds’ image directories are gone on both hosts');
  });
});

/** Image directories on each host. */
async function imageDirs(): Promise<string[]> {
  return Promise.all([A, B].map((h) => onHost(h, 'ls /var/tmp/process-migrator 2>/dev/null | grep "^img\\." || true')));
}

async function tickerAdvancesFrom(host: string, file: string, from: number): Promise<boolean> {
  try {
    await waitFor(async () => Number(await onHost(host, `cat ${file} 2>/dev/null || echo 0`)) > from, 5_000);
    return true;
  } catch {
    return false;
  }
}
