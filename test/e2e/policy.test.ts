// The policy daemon in the lab: CPU burners on lab-a raise its measured load (`procmig hosts`,
// cgroup-aware), and `procmig watch` moves the marked counter to lab-b, which counts on there;
// the unmarked counter stays on lab-a. A dry run only says what it would move.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { Policy } from '../../src/migration/api';
import { cli, kill, procmig, readNumber, sshConfig, startDetached, startTicker, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();
const TAG = '/tmp/h4-policy';

/** lab-a's measured state, as the daemon's engine sees it. */
async function stateOfA(): Promise<{ cpus: number; load1: number }> {
  const r = await procmig(['hosts', A, '--json']);
  assert.ok(Array.isArray(r.json), `procmig hosts printed no JSON: ${r.stdout}${r.stderr}`);
  return r.json[0];
}

/** Runs `procmig watch` on `policy` until `until` sees its output lines; returns them (JSON). */
async function watch(policy: Policy, args: string[], until: (lines: Record<string, unknown>[]) => boolean, timeoutMs: number): Promise<Record<string, unknown>[]> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'h4-policy-')), 'policy.json');
  writeFileSync(file, JSON.stringify(policy));
  const child = spawn('node', [cli, '--ssh-config', sshConfig, 'watch', '--policy', file, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  cleanup.push(async () => void child.kill('SIGKILL'));
  const lines = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  try {
    await waitFor(async () => until(lines()) || child.exitCode !== null, timeoutMs);
  } catch {
    assert.fail(`procmig watch did not do it in time; it wrote: ${stdout}${stderr}`);
  }
  child.kill('SIGINT');
  await exited;
  assert.notEqual(child.exitCode, 2, `procmig watch failed: ${stderr}`);
  return lines();
}

describe('procmig watch', () => {
  it('a dry run says it would move the marked process, and moves nothing', async () => {
    const pid = await startTicker(A, `${TAG}-dry`);
    cleanup.push(() => kill(A, pid));
    // Available memory is always below 1 EiB: the rule holds from the first sample.
    const policy: Policy = { rules: [{ name: 'always', host: A, memAvailableBelowMiB: 2 ** 40, to: B }], marked: [{ host: A, pid }], pollSeconds: 1 };
    const lines = await watch(policy, ['--dry-run'], (l) => l.length > 0, 60_000);
    assert.deepEqual(lines.map((l) => [l.dryRun, l.sourcePid, l.from, l.to]), [[true, pid, A, B]]);
    assert.match(String(lines[0].trigger), /^Policy 'always': lab-a's available memory stayed below/);
    assert.equal(await stateOf(A, pid), 'running');
    assert.ok(await tickerAdvances(A, `${TAG}-dry`));
  });

  it('load from a CPU burner on lab-a moves the marked process to lab-b; the unmarked one stays', async () => {
    const marked = await startTicker(A, `${TAG}-marked`);
    const unmarked = await startTicker(A, `${TAG}-unmarked`);
    cleanup.push(() => kill(A, marked), () => kill(B, marked), () => kill(A, unmarked), () => kill(B, unmarked));
    const before = await stateOfA();
    // Trips once lab-a's measured load per core rises clearly above what it is now.
    const threshold = Math.round(Math.min(before.load1 + 0.3, 0.85) * 100) / 100;
    for (let i = 0; i < Math.min(Math.max(before.cpus, 1), 4); i++) {
      const burner = await startDetached(A, `sh -c 'while :; do :; done'`);
      cleanup.push(() => kill(A, burner));
    }
    const policy: Policy = {
      rules: [{ name: 'lab-a busy', host: A, loadPerCoreAbove: threshold, loadClearBelow: Math.max(0, threshold - 0.1), forSeconds: 4, to: B }],
      marked: [{ host: A, pid: marked }],
      pollSeconds: 2,
      minSecondsBetweenMoves: 600,
    };
    const lines = await watch(policy, [], (l) => l.some((x) => x.sourcePid === marked), 240_000);
    const move = lines.find((l) => l.sourcePid === marked)!;
    assert.equal(move.ok, true, String(move.error));
    assert.equal(move.from, A);
    assert.equal(move.to, B);
    assert.match(String(move.trigger), /^Policy 'lab-a busy': lab-a's load per core stayed above/);
    assert.ok(!lines.some((l) => l.sourcePid === unmarked), 'the unmarked process was never moved');
    const destinationPid = move.destinationPid as number;
    cleanup.push(() => kill(B, destinationPid));

    assert.equal(await stateOf(A, marked), 'gone');
    assert.equal(await stateOf(B, destinationPid), 'running');
    const lastOnA = await readNumber(A, `${TAG}-marked`);
    await waitFor(async () => (await readNumber(B, `${TAG}-marked`)) >= lastOnA);
    assert.ok(await tickerAdvances(B, `${TAG}-marked`), 'the moved counter counts on on lab-b');
    assert.equal(await stateOf(A, unmarked), 'running');
    assert.ok(await tickerAdvances(A, `${TAG}-unmarked`), 'the unmarked counter still counts on lab-a');
  });
});
