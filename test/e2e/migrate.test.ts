// A real process moves between two real hosts (the lab) and keeps its state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, readNumber, startDetached, startHttpCounter, startTicker, stateOf, tickerAdvances, waitFor, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

function assertMigrated(result: Awaited<ReturnType<typeof procmig>>, pid: number) {
  assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
  const r = result.json;
  assert.equal(r.ok, true, r.error);
  assert.equal(r.from, A);
  assert.equal(r.to, B);
  assert.equal(r.sourcePid, pid);
  assert.equal(r.strategy, 'stop-and-copy');
  assert.ok(Number.isInteger(r.destinationPid));
  for (const phase of ['preflight', 'connect', 'freeze', 'dump', 'transfer', 'restore', 'verify']) {
    assert.ok(typeof r.phases[phase] === 'number', `phase ${phase} timed`);
  }
  assert.ok(r.freezeMs > 0 && r.totalMs >= r.freezeMs);
  assert.ok(r.bytes > 0);
  return r as { destinationPid: number };
}

describe('stop-and-copy between two hosts', () => {
  it('moves a shell loop writing ticks to a file; it counts on from where it was', async () => {
    const file = '/tmp/e2e-ticks';
    const pid = await startTicker(A, file);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));

    const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json']);
    const lastOnA = await readNumber(A, file);
    const { destinationPid } = assertMigrated(result, pid);
    cleanup.push(() => kill(B, destinationPid));

    assert.equal(await stateOf(A, pid), 'gone', 'the source is gone after success');
    assert.equal(await stateOf(B, destinationPid), 'running');
    // /tmp is per host: the counter on B continues from A's last value, it did not restart.
    await waitFor(async () => (await readNumber(B, file)) > lastOnA);
    assert.ok(await tickerAdvances(B, file));
    // Images hold process memory: none are left behind on either host.
    assert.equal(await onHost(A, 'ls /var/tmp/process-migrator | grep -c img. || true'), '0');
    assert.equal(await onHost(B, 'ls /var/tmp/process-migrator | grep -c img. || true'), '0');
  });

  it('moves a Node.js HTTP server; its in-memory counter continues on the destination', async () => {
    const port = 18080;
    const { pid, get } = await startHttpCounter(A, port);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    for (let i = 0; i < 3; i++) await get(A);

    const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json']);
    const { destinationPid } = assertMigrated(result, pid);
    cleanup.push(() => kill(B, destinationPid));
    assert.equal(await get(B), '5', 'four requests were served on A; the next one on B is the fifth');
  });

  it('moves a Python process holding 256 MiB; the memory checksum matches after restore', async () => {
    const script = [
      'import hashlib, os, signal, time',
      'data = bytearray(os.urandom(1 << 20)) * 256',
      'open("/tmp/e2e-sum-before", "w").write(hashlib.sha256(data).hexdigest())',
      'def check(*_): open("/tmp/e2e-sum-after", "w").write(hashlib.sha256(data).hexdigest())',
      'signal.signal(signal.SIGUSR1, check)',
      'while True: time.sleep(1)',
    ].join('\n');
    await onHost(A, `cat > /tmp/e2e-mem.py <<'PY'\n${script}\nPY`);
    await onHost(B, `cp /dev/null /tmp/e2e-mem.py`); // the script file need not travel: Python has read it
    const pid = await startDetached(A, '/usr/bin/python3 /tmp/e2e-mem.py');
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await onHost(A, 'cat /tmp/e2e-sum-before 2>/dev/null || true')).length === 64, 30_000);
    const before = await onHost(A, 'cat /tmp/e2e-sum-before');

    const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json']);
    const { destinationPid } = assertMigrated(result, pid);
    cleanup.push(() => kill(B, destinationPid));
    assert.ok(result.json.bytes > 256 * 1024 * 1024, 'the 256 MiB of memory travelled');

    await onHost(B, `kill -USR1 ${destinationPid}`);
    await waitFor(async () => (await onHost(B, 'cat /tmp/e2e-sum-after 2>/dev/null || true')).length === 64, 30_000);
    assert.equal(await onHost(B, 'cat /tmp/e2e-sum-after'), before);
  });
});
