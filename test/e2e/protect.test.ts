// Protect and fail over: a counter on lab-a is checkpointed to lab-b while it counts on; lab-a
// crashes (PID 1 of its namespace killed: every process on it ends at once, as in a crash). The
// counter is restored on lab-b from its newest checkpoint and counts on from at least what it
// had counted then. When lab-a boots again, nothing else runs: no second copy anywhere.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cli, kill, onHost, repo, sshConfig, startDetached, stateOf, useLab, waitFor } from './support/lab';
import { advancing, counters, startCounters } from './support/shmCounters';

const A = 'lab-a';
const B = 'lab-b';
const PORT = 47831;
const cleanup = useLab();
const lab = (...args: string[]) => execFileSync('sh', [path.join(repo, 'scripts', 'lab.sh'), ...args], { stdio: 'inherit' });

/** A process whose count lives in its memory only (one more every 100 ms), told over HTTP. */
const COUNTER = `node -e 'let n = 0; setInterval(() => n++, 100); require("http").createServer((q, r) => r.end(String(n))).listen(${PORT}, "127.0.0.1")'`;
const count = async (host: string) => Number(await onHost(host, `curl -s --max-time 3 http://127.0.0.1:${PORT}/`));

interface Event {
  event: string;
  ok?: boolean;
  [key: string]: unknown;
}

/** `procmig protect … --json`, its events as they come. */
function protect(pid: number) {
  const child = spawn('node', [cli, '--ssh-config', sshConfig, 'protect', String(pid), '--from', A, '--standby', B, '--every', '2', '--failover', 'auto', '--lost-after', '3', '--json']);
  cleanup.push(async () => void child.kill('SIGINT'));
  const events: Event[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl; (nl = buffered.indexOf('\n')) >= 0; buffered = buffered.slice(nl + 1)) events.push(JSON.parse(buffered.slice(0, nl)));
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const next = async (event: string, after = 0) => {
    await waitFor(async () => events.slice(after).some((e) => e.event === event), 60_000).catch(() => {
      throw new Error(`no ${event} event; events: ${JSON.stringify(events)}\nstderr: ${stderr}`);
    });
    return events.slice(after).find((e) => e.event === event)!;
  };
  return { child, events, next, exited, stderr: () => stderr };
}

describe('protect', () => {
  it('a counter on lab-a, checkpointed to lab-b, fails over when lab-a crashes and counts on from its checkpoint; after the boot nothing else runs', async () => {
    const images = () => onHost(B, 'ls -d /var/tmp/process-migrator/img.* 2>/dev/null | wc -l');
    const imagesBefore = await images();
    const pid = await startDetached(A, COUNTER);
    cleanup.push(() => kill(A, pid));
    await waitFor(async () => (await count(A).catch(() => 0)) > 0);

    const run = protect(pid);
    const first = await run.next('checkpoint');
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.ok((first.options as { option: string }[]).some((o) => o.option === 'dump --leave-running'), JSON.stringify(first.options));
    assert.equal(await stateOf(A, pid), 'running', 'the checkpoint leaves it running');
    assert.equal(first.transfer, `checkpoint direct ${A} → ${B} over OpenSSH`, 'host to host, not through this machine');
    // Read before the next checkpoint starts: what that one holds is at least this.
    const before = await count(A);
    const seen = run.events.length;
    const second = await run.next('checkpoint', seen);
    assert.equal(second.ok, true, JSON.stringify(second));
    assert.ok(typeof second.freezeMs === 'number');

    lab('crash', A);
    const failover = await run.next('failover');
    assert.equal(failover.ok, true, JSON.stringify(run.events));
    const restored = failover.pid as number;
    cleanup.push(() => kill(B, restored));
    assert.ok(typeof failover.workLostS === 'number' && typeof failover.detectToRunningMs === 'number');
    const lost = run.events.find((e) => e.event === 'lost')!;
    assert.equal(lost.reason, `${A} has not answered for 3 s`);
    const onB = await count(B);
    assert.ok(onB >= before, `restored from the newest checkpoint: ${onB} ≥ ${before}`);
    await waitFor(async () => (await count(B)) > onB);

    lab('boot', A);
    const back = await run.next('returned');
    assert.equal(back.copy, 'gone');
    assert.equal(await run.exited, 0, run.stderr());
    assert.equal(await onHost(A, `pgrep -f 'listen\\(${PORT}' || true`), '', 'nothing else runs on the crashed host');
    assert.equal(await stateOf(B, restored), 'running');
    assert.equal(await images(), imagesBefore, 'the standby deleted its checkpoints');
  });
  it('a program counting in /dev/shm: its block is kept in the checkpoint, not placed on lab-b, until it fails over with it', async () => {
    const { pid, shm } = await startCounters(A, B, cleanup, 'e2e-protect-shm');
    const exists = async (host: string) => (await onHost(host, `if [ -e ${shm} ]; then echo yes; else echo no; fi`)) === 'yes';
    const run = protect(pid);
    const first = await run.next('checkpoint');
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.ok((first.options as { option: string }[]).some((o) => o.option === 'tmpfs files saved in the checkpoint'), JSON.stringify(first.options));
    assert.equal(await stateOf(A, pid), 'running', 'it resumed after its tmpfs files were saved');
    assert.equal(await exists(B), false, 'the block waits in the checkpoint, not at its path on lab-b');
    const before = await counters(A, shm);
    const second = await run.next('checkpoint', run.events.length);
    assert.equal(second.ok, true, JSON.stringify(second));
    assert.equal(await exists(B), false);

    lab('crash', A);
    const failover = await run.next('failover');
    assert.equal(failover.ok, true, JSON.stringify(run.events));
    const restored = failover.pid as number;
    cleanup.push(() => kill(B, restored));
    const onB = await counters(B, shm);
    assert.ok(onB.length === 2 && onB.every((n, i) => n >= before[i]), `restored with its block from the newest checkpoint: ${onB} ≥ ${before}`);
    await advancing(B, shm, onB);

    lab('boot', A);
    await run.next('returned');
    assert.equal(await run.exited, 0, run.stderr());
    assert.equal(await stateOf(B, restored), 'running');
  });
});
