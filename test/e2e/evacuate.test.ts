// Evacuating a host: three counters leave lab-a for lab-b in one batch and count on there; a
// fourth, which holds a file lab-b does not have, is named with its reason, and keeps running on
// lab-a without ever being frozen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, readNumber, startDetached, startTicker, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const C = 'lab-c';
const cleanup = useLab();
const TAG = '/tmp/h4-evacuate';

describe('procmig evacuate', () => {
  it('moves the movable processes to lab-b in one batch and names the one that cannot move, never frozen', async () => {
    const movers: number[] = [];
    for (const n of [1, 2, 3]) {
      const pid = await startTicker(A, `${TAG}-${n}`);
      movers.push(pid);
      cleanup.push(() => kill(A, pid), () => kill(B, pid));
    }
    // The fourth keeps a file of lab-a's own /tmp open: lab-b has no such file, so the preflight refuses it.
    const held = `${TAG}-only-on-lab-a`;
    await onHost(A, `echo data > ${held}`);
    await onHost(B, `rm -f ${held}`);
    const stayFile = `${TAG}-4`;
    const stayer = await startDetached(A, `sh -c 'exec 3<${held}; i=0; while :; do i=$((i+1)); echo $i > ${stayFile}; sleep 0.1; done'`);
    cleanup.push(() => kill(A, stayer), () => kill(B, stayer));
    await waitFor(async () => (await readNumber(A, stayFile)) > 0);
    const counted = await Promise.all(movers.map((pid, i) => readNumber(A, `${TAG}-${i + 1}`)));

    // Watch the fourth from lab-a itself while the evacuation runs (one observer, not an ssh
    // connection per look): its state letter, every 50 ms, into a file.
    const states = `${TAG}-states`;
    await onHost(A, `rm -f ${states}`);
    const observer = await startDetached(A, `sh -c 'while :; do sed "s/^[0-9]* (.*) //" /proc/${stayer}/stat | cut -d" " -f1 >> ${states}; sleep 0.05; done'`);
    cleanup.push(() => kill(A, observer));
    await waitFor(async () => (await onHost(A, `wc -l < ${states} 2>/dev/null || echo 0`)) !== '0');
    const args = ['evacuate', A, '--to', B, ...[...movers, stayer].flatMap((p) => ['--pid', String(p)]), '--strategy', 'stop-and-copy', '--json'];
    const result = await procmig(args);
    await kill(A, observer);
    const seen = new Set((await onHost(A, `cat ${states}`)).split('\n').filter(Boolean));
    const r = result.json;
    assert.ok(r, `procmig printed no JSON: ${result.stdout}${result.stderr}`);
    for (const p of r.processes) if (p.destinationPid) cleanup.push(() => kill(B, p.destinationPid));

    // The three moved, with the fields of `migrate --json`.
    assert.equal(r.ok, true, r.error);
    assert.equal(r.from, A);
    assert.deepEqual(r.processes.map((p: { sourcePid: number }) => p.sourcePid).sort(), [...movers].sort());
    for (const p of r.processes) {
      assert.equal(p.ok, true, p.error);
      assert.equal(p.to, B);
      assert.ok(Number.isInteger(p.destinationPid));
      assert.equal(p.strategy, 'stop-and-copy');
      assert.ok(p.freezeMs > 0 && typeof p.phases.dump === 'number');
      assert.equal(await stateOf(A, p.sourcePid), 'gone');
      assert.equal(await stateOf(B, p.destinationPid), 'running');
    }
    // Each counts on lab-b from where it was on lab-a.
    for (const [i, pid] of movers.entries()) {
      const file = `${TAG}-${i + 1}`;
      assert.ok(r.processes.some((p: { sourcePid: number }) => p.sourcePid === pid));
      await waitFor(async () => (await readNumber(B, file)) > counted[i]);
      assert.ok(await tickerAdvances(B, file), `counter ${i + 1} counts on lab-b`);
    }

    // The fourth: named with its reason, still on lab-a, never stopped, still counting.
    assert.deepEqual(r.left.map((l: { pid: number }) => l.pid), [stayer]);
    assert.match(r.left[0].reason, new RegExp(held.replaceAll('/', '\\/')));
    assert.equal(result.code, 1, 'a host with a process left on it is not empty');
    assert.ok(!seen.has('T') && !seen.has('t'), `the process that stays was seen in states ${[...seen].join(', ')}`);
    assert.equal(await stateOf(A, stayer), 'running');
    assert.ok(await tickerAdvances(A, stayFile));
  });

  it('--to auto: each process goes where it fits (one that needs a file only lab-c has goes there, the others where placement finds most headroom)', async () => {
    const needs = `${TAG}-only-on-a-and-c`;
    await onHost(A, `echo data > ${needs}`);
    await onHost(C, `echo data > ${needs}`);
    await onHost(B, `rm -f ${needs}`);
    cleanup.push(() => onHost(A, `rm -f ${needs}`).then(() => undefined), () => onHost(C, `rm -f ${needs}`).then(() => undefined));
    const free = await startTicker(A, `${TAG}-auto-1`);
    const file = `${TAG}-auto-2`;
    const bound = await startDetached(A, `sh -c 'exec 3<${needs}; i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.1; done'`);
    for (const pid of [free, bound]) cleanup.push(() => kill(A, pid), () => kill(B, pid), () => kill(C, pid));
    await waitFor(async () => (await readNumber(A, file)) > 0);

    const result = await procmig(['evacuate', A, '--to', 'auto', '--among', `${B},${C}`, '--pid', String(free), '--pid', String(bound), '--strategy', 'stop-and-copy', '--json']);
    const r = result.json;
    assert.ok(r, `procmig printed no JSON: ${result.stdout}${result.stderr}`);
    for (const p of r.processes) if (p.destinationPid) cleanup.push(() => kill(p.to, p.destinationPid));
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(r.left, []);
    assert.equal(result.code, 0);
    const moved = new Map(r.processes.map((p: { sourcePid: number; to: string }) => [p.sourcePid, p]));
    const boundResult = moved.get(bound) as { to: string; placement?: { candidates: { host: string; reason: string }[] } };
    assert.equal(boundResult?.to, C, 'the process that needs the file lab-c alone has went there');
    // Placement said why lab-b was passed over: the file it lacks.
    assert.match(boundResult.placement?.candidates.find((c) => c.host === B)?.reason ?? 'no reason for lab-b', new RegExp(needs.replaceAll('/', '\\/')));
    assert.ok([B, C].includes((moved.get(free) as { to: string })?.to));
    assert.ok(await tickerAdvances(C, file), 'it counts on lab-c');
    assert.ok(await tickerAdvances((moved.get(free) as { to: string }).to, `${TAG}-auto-1`));
  });
});
