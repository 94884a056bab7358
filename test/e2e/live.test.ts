// Live-migration strategies and batches: each moves real processes with their state intact.
// (Tests check behaviour, never timings: bench/ measures.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, startDetached, startMemoryHolder, stateOf, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

/** `moved` is its PID on B: another one when its own was taken there (a new PID namespace). */
async function assertMemoryIntact(pid: number, tag: string, sum: string, moved = pid) {
  cleanup.push(() => kill(B, moved));
  assert.equal(await stateOf(B, moved), 'running');
  assert.equal(await stateOf(A, pid), 'gone');
  await onHost(B, `kill -USR1 ${moved}`);
  await waitFor(async () => (await onHost(B, `cat /tmp/${tag}-after 2>/dev/null || true`)).length === 64, 30_000);
  assert.equal(await onHost(B, `cat /tmp/${tag}-after`), sum, 'memory checksum after restore');
}

describe('live-migration strategies', () => {
  it('post-copy: the process runs on the destination at once and its 256 MiB follow intact', async () => {
    const { pid, sum } = await startMemoryHolder(A, B, 256, 'e2e-post', cleanup);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'post-copy', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.strategy, 'post-copy');
    assert.equal(r.json.strategyReason, 'requested');
    assert.ok(typeof r.json.phases.pages === 'number', 'pages moved after the process resumed');
    assert.ok(r.json.bytes > 256 << 20);
    await assertMemoryIntact(pid, 'e2e-post', sum, r.json.destinationPid);
  });

  it('auto picks post-copy for a large process and stop-and-copy for a small one, and says why', async () => {
    const big = await startMemoryHolder(A, B, 160, 'e2e-auto-big', cleanup);
    const bigResult = await procmig(['migrate', String(big.pid), '--from', A, '--to', B, '--json']);
    assert.equal(bigResult.code, 0, bigResult.stdout);
    assert.equal(bigResult.json.strategy, 'post-copy');
    assert.match(bigResult.json.strategyReason, /MiB/);
    await assertMemoryIntact(big.pid, 'e2e-auto-big', big.sum, bigResult.json.destinationPid);

    const small = await startDetached(A, `sh -c 'while :; do sleep 0.2; done'`);
    cleanup.push(() => kill(A, small), () => kill(B, small));
    const smallResult = await procmig(['migrate', String(small), '--from', A, '--to', B, '--json']);
    assert.equal(smallResult.code, 0, smallResult.stdout);
    assert.equal(smallResult.json.strategy, 'stop-and-copy');
    assert.match(smallResult.json.strategyReason, /small/);
  });

  it('pre-copy without soft-dirty tracking falls back, and the report says why', async () => {
    const caps = await procmig(['check', A, '--json']);
    const dirtyTracking = caps.json[0].capabilities.features.mem_dirty_track;
    const pid = await startDetached(A, `sh -c 'while :; do sleep 0.2; done'`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'pre-copy', '--json']);
    assert.equal(r.code, 0, r.stdout);
    if (dirtyTracking) return assert.equal(r.json.strategy, 'pre-copy'); // both lab hosts share one kernel
    assert.notEqual(r.json.strategy, 'pre-copy');
    assert.match(r.json.strategyReason, /soft-dirty/);
  });

  it('moves 4 processes in one request, frozen together; each keeps its memory', async () => {
    const holders = [];
    for (let i = 0; i < 4; i++) holders.push(await startMemoryHolder(A, B, 32, `e2e-batch-${i}`, cleanup));
    const r = await procmig(['migrate', ...holders.map((h) => String(h.pid)), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.processes.length, 4);
    assert.equal(r.json.freezeMs, Math.max(...r.json.processes.map((p: { freezeMs: number }) => p.freezeMs)));
    for (const [i, h] of holders.entries()) await assertMemoryIntact(h.pid, `e2e-batch-${i}`, h.sum, r.json.processes.find((p: { sourcePid: number }) => p.sourcePid === h.pid).destinationPid);
  });

  it('moves a process tree as one, and a requested child moves with its parent', async () => {
    const parent = await startDetached(A, `sh -c 'sleep 600 & sleep 600 & while :; do sleep 0.2; done'`);
    cleanup.push(() => kill(A, parent), () => kill(B, parent));
    const longSleeps = (host: string) => onHost(host, `pgrep -P ${parent} -f 'sleep 600' | wc -l`);
    await waitFor(async () => (await longSleeps(A)) === '2');
    const child = Number((await onHost(A, `pgrep -P ${parent} -f 'sleep 600'`)).split('\n')[0]);
    const r = await procmig(['migrate', String(parent), String(child), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.processes.length, 1, 'the child is part of its parent tree');
    assert.equal(await longSleeps(B), '2', 'both children moved');
    assert.equal(await stateOf(A, child), 'gone');
  });
});
