// Protection in the lab: a counter on lab-a checkpointed every few seconds onto lab-b. lab-a
// crashes (every process on it ends at once): with `--failover auto` the counter is restored on
// lab-b and counts on from at least what it had counted before its last checkpoint; lab-a boots
// again and nothing else runs. With `ask` and nobody to ask nothing is restored; Ctrl-C ends
// protection and leaves no checkpoint on lab-b.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, kill, onHost, repo, sharedDir, sshConfig, startDetached, stateOf, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const lab = (...args: string[]) => execFileSync('sh', [path.join(repo, 'scripts', 'lab.sh'), ...args], { stdio: 'pipe' });
const cleanup = useLab();
// Other test files need lab-a: it boots again whatever happened here.
after(() => {
  try {
    lab('boot', A);
  } catch {
    // it was up
  }
});

const dir = sharedDir('protect');

/** A counter holding its count in memory, written in place (fixed size, the file stays open) to
 * a file both hosts see, every 100 ms. */
async function startCounter(tag: string): Promise<{ pid: number; count: () => number }> {
  const file = path.join(dir, `${tag}-count`);
  const script = path.join(dir, `${tag}.py`);
  execFileSync('sh', ['-c', `printf '%-12s' 0 > ${file}; cat > ${script}`], {
    input: `import time\nf = open("${file}", "r+")\nn = 0\nwhile True:\n    n += 1\n    f.seek(0)\n    f.write(str(n).ljust(12))\n    f.flush()\n    time.sleep(0.1)\n`,
  });
  const pid = await startDetached(A, `/usr/bin/python3 ${script}`);
  cleanup.push(() => kill(A, pid));
  const count = () => Number(readFileSync(file, 'utf8').trim());
  await waitFor(async () => count() > 5, 15_000);
  return { pid, count };
}

interface ProtectRun {
  events: { kind: string; ok?: boolean; generation?: number; destinationPid?: number; error?: string; workLostMs?: number }[];
  stderr(): string;
  exited: Promise<number | null>;
  interrupt(): Promise<number | null>;
}

function protectRun(pid: number, failover: 'ask' | 'auto'): ProtectRun {
  const child = spawn(process.execPath, [cli, '--ssh-config', sshConfig, 'protect', String(pid), '--from', A, '--standby', B, '--every', '2', '--lost-after', '4', '--failover', failover, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: ProtectRun = {
    events: [],
    stderr: () => stderr,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    interrupt: () => {
      child.kill('SIGINT');
      return run.exited;
    },
  };
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) run.events.push(JSON.parse(line));
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  cleanup.push(async () => void child.kill('SIGKILL'));
  return run;
}

const checkpoints = (run: ProtectRun) => run.events.filter((e) => e.kind === 'checkpoint' && !e.error);
const failover = (run: ProtectRun) => run.events.find((e) => e.kind === 'failover');
/** The protection directories on lab-b (there is one while a protection runs). */
const standbyCheckpoints = () => onHost(B, 'ls -d /var/tmp/process-migrator/protect.* 2>/dev/null || true');
/** The counter's processes on `host` ([.] keeps pgrep from matching the shell that runs it). */
const copies = (host: string, tag: string) => onHost(host, `pgrep -f "${tag}[.]py" || true`);

describe('procmig protect', () => {
  it('auto: lab-a crashes, the counter is restored on lab-b from its last checkpoint, and lab-a boots without it', async () => {
    const tag = `protect-auto-${process.pid}`;
    const counter = await startCounter(tag);
    const run = protectRun(counter.pid, 'auto');
    await waitFor(async () => checkpoints(run).length >= 1, 60_000).catch(() => assert.fail(`no checkpoint: ${run.stderr()}`));
    // Counted before a checkpoint that starts after this read: the restore has at least this.
    const seen = checkpoints(run).length;
    const before = counter.count();
    await waitFor(async () => checkpoints(run).length >= seen + 2, 30_000);
    lab('crash', A);
    await waitFor(async () => failover(run) !== undefined, 60_000);
    const event = failover(run)!;
    assert.equal(event.ok, true, event.error);
    const restored = event.destinationPid!;
    cleanup.push(() => kill(B, restored));
    assert.equal(await stateOf(B, restored), 'running');
    const first = counter.count();
    assert.ok(first >= before, `counts on from at least ${before} (the checkpointed value), not ${first}`);
    await waitFor(async () => counter.count() > first, 10_000);
    lab('boot', A);
    assert.equal(await run.exited, 0, run.stderr());
    assert.match(run.stderr(), /runs on lab-b alone/);
    assert.equal(await copies(A, tag), '', 'nothing of the counter runs on lab-a after its boot');
    assert.equal(await stateOf(B, restored), 'running');
    assert.equal(await standbyCheckpoints(), '', 'the checkpoints on lab-b are deleted');
  });

  it('ask, with nobody to ask: lab-a crashes and nothing is restored', async () => {
    const tag = `protect-ask-${process.pid}`;
    const counter = await startCounter(tag);
    const run = protectRun(counter.pid, 'ask');
    await waitFor(async () => checkpoints(run).length >= 1, 60_000);
    lab('crash', A);
    await waitFor(async () => failover(run) !== undefined, 60_000);
    assert.equal(failover(run)!.ok, false);
    assert.match(run.stderr(), /nothing was restored/);
    assert.equal(await copies(B, tag), '', 'no copy on lab-b');
    assert.equal(await run.interrupt(), 0, run.stderr());
    assert.equal(await standbyCheckpoints(), '', 'the checkpoints on lab-b are deleted');
    lab('boot', A);
  });

  it('Ctrl-C ends protection, deletes the checkpoints on lab-b, and the process runs on', async () => {
    const tag = `protect-stop-${process.pid}`;
    const counter = await startCounter(tag);
    const run = protectRun(counter.pid, 'auto');
    await waitFor(async () => checkpoints(run).length >= 2, 60_000);
    assert.notEqual(await standbyCheckpoints(), '', 'lab-b holds the checkpoints meanwhile');
    assert.equal(await run.interrupt(), 0, run.stderr());
    assert.equal(await standbyCheckpoints(), '');
    assert.equal(await stateOf(A, counter.pid), 'running');
    const now = counter.count();
    await waitFor(async () => counter.count() > now, 10_000);
    assert.equal(await copies(B, tag), '');
  });
});
