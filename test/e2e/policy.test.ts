// Policies: two CPU burners on lab-a make `procmig watch` move the marked ticker to lab-b, where
// it counts on from where it was; the unmarked ticker stays on lab-a. A dry run first says what
// it would move and moves nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { cli, kill, readNumber, sshConfig, startDetached, startTicker, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

interface Event {
  event: string;
  message: string;
  pid?: number;
  to?: string;
  result?: { ok: boolean; to: string; destinationPid: number; trigger?: string };
}

/** `procmig watch --policy FILE --json …` running in the background, its events as they come. */
function startWatch(policyFile: string, extra: string[] = []) {
  const child = spawn('node', [cli, '--ssh-config', sshConfig, 'watch', '--policy', policyFile, '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Event[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup.push(async () => void child.kill('SIGKILL'));
  return {
    events,
    /** The first event of `kind` (fails early if the watcher ends). */
    async next(kind: string, timeoutMs = 180_000): Promise<Event> {
      await waitFor(async () => events.some((e) => e.event === kind) || child.exitCode !== null, timeoutMs);
      const e = events.find((x) => x.event === kind);
      assert.ok(e, `no ${kind} event; procmig watch ended (${child.exitCode}): ${stderr}\n${events.map((x) => x.message).join('\n')}`);
      return e;
    },
    stop(): Promise<number | null> {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('policies (procmig watch)', () => {
  it('a busy lab-a: the dry run moves nothing, then the marked ticker moves to lab-b and counts on; the unmarked stays', async (t) => {
    const marked = '/tmp/e2e-policy-marked';
    const unmarked = '/tmp/e2e-policy-unmarked';
    const markedPid = await startTicker(A, marked);
    const unmarkedPid = await startTicker(A, unmarked);
    cleanup.push(() => kill(A, markedPid), () => kill(B, markedPid), () => kill(A, unmarkedPid));
    const burners = await Promise.all([1, 2].map(() => startDetached(A, `sh -c 'while :; do :; done'`)));
    cleanup.push(...burners.map((pid) => () => kill(A, pid)));

    const policyFile = path.join(mkdtempSync(path.join(tmpdir(), 'procmig-policy-')), 'policy.json');
    writeFileSync(
      policyFile,
      JSON.stringify({
        rules: [{ name: 'busy-host', hosts: [A], when: { cpuPerCoreAbove: 0.5 }, forSeconds: 6, move: 'marked', to: 'auto', among: [B] }],
        minSecondsBetweenMoves: 600,
        marked: [{ host: A, pid: markedPid }],
      }),
    );

    const dry = startWatch(policyFile, ['--dry-run']);
    const would = await dry.next('would-move');
    assert.equal(would.pid, markedPid, would.message);
    assert.equal(would.to, B, would.message);
    assert.match(would.message, /^dry run: would move PID \d+ \(sh\) from lab-a to lab-b: .*\(policy busy-host: lab-a/);
    t.diagnostic(would.message);
    assert.equal(await dry.stop(), 0);
    assert.equal(dry.events.at(-1)?.event, 'stopped');
    assert.ok(!dry.events.some((e) => e.event === 'moved'));
    assert.equal(await stateOf(A, markedPid), 'running', 'the dry run moved nothing');
    assert.ok(await tickerAdvances(A, marked));

    const watch = startWatch(policyFile);
    const moved = await watch.next('moved');
    t.diagnostic(moved.message);
    assert.equal(await watch.stop(), 0);
    assert.equal(moved.pid, markedPid, moved.message);
    assert.equal(moved.to, B);
    assert.equal(moved.result?.ok, true);
    assert.match(moved.result?.trigger ?? '', /^policy busy-host: lab-a (used [\d.]+ of [\d.]+ cores|'s load was [\d.]+ per core) for \d+ s \(above 0.5 per core\)$/);
    assert.deepEqual(watch.events.filter((e) => e.event === 'moved').map((e) => e.pid), [markedPid], 'only the marked ticker moved');

    // Its state came along: the count goes on on lab-b from where it was on lab-a.
    assert.equal(await stateOf(A, markedPid), 'gone');
    const lastOnA = await readNumber(A, marked);
    await waitFor(async () => (await readNumber(B, marked)) > lastOnA);
    assert.equal(await stateOf(A, unmarkedPid), 'running');
    assert.ok(await tickerAdvances(A, unmarked), 'the unmarked ticker counts on on lab-a');
  });
});
