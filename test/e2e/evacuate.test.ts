// Evacuate lab-a: three tickers move off it (placed, batched per destination) and count on; a
// Node 24 started without `procmig run` holds io_uring, so it is named with its reason and never
// frozen: it still runs on lab-a.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, node24, procmig, readNumber, startDetached, startTicker, stateOf, waitFor, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

describe('evacuate', () => {
  it('moves three tickers off lab-a and names the one that cannot move', async () => {
    const files = [1, 2, 3].map((i) => `/tmp/e2e-evacuate-${i}`);
    const pids = await Promise.all(files.map((f) => startTicker(A, f)));
    const node = node24();
    const uring = await startDetached(A, `${node} -e "setInterval(() => require('fs').readFile('/etc/hostname', () => {}), 100)"`);
    for (const pid of [...pids, uring]) cleanup.push(() => kill(A, pid), () => kill(B, pid));

    const result = await procmig(['evacuate', A, '--to', 'auto', '--among', B, '--pid', ...[...pids, uring].map(String), '--json']);
    const r = result.json;
    assert.deepEqual(r.results.map((m: { sourcePid: number; ok: boolean; to: string }) => [m.sourcePid, m.ok, m.to]).sort(), pids.map((p) => [p, true, B]).sort(), result.stdout + result.stderr);
    assert.deepEqual(r.left.map((l: { pid: number }) => l.pid), [uring]);
    assert.match(r.left[0].reason, /io_uring/);
    assert.equal(await stateOf(A, uring), 'running', 'the one that cannot move was never frozen');
    for (const [i, pid] of pids.entries()) {
      assert.equal(await stateOf(A, pid), 'gone');
      const last = await readNumber(B, files[i]);
      await waitFor(async () => (await readNumber(B, files[i])) > last);
    }
  });
});
