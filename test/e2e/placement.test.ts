// `--to auto`: the destination is chosen among the hosts where the full preflight passes, and the
// report says why each other host was passed over. A host that cannot be reached is passed over
// with its sentence; the process moves to the one that can take it and counts on there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, readNumber, startMemoryHolder, startTicker, stateOf, waitFor, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
/** The small host: its cgroup gives it half a core and 1 GiB. */
const C = 'lab-c';
const cleanup = useLab();

describe('placement (--to auto)', () => {
  it('measures each host, cgroup-aware: cores, load, memory, disk, CRIU; and the round trip between them', async () => {
    const result = await procmig(['hosts', A, B, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const states = result.json as { host: string; cpus: number; memAvailableKiB: number; diskAvailableKiB: number; criuVersion?: string; stale?: string; links?: { host: string; rttMs?: number }[] }[];
    // Host to host (lab-a's helper times a connect to lab-b's sshd): a number, not a timing bound.
    const rtt = states[0].links?.find((l) => l.host === B)?.rttMs;
    assert.ok(typeof rtt === 'number' && rtt > 0, JSON.stringify(states[0].links));
    assert.equal(states[1].links?.find((l) => l.host === A)?.rttMs, rtt, 'one measurement per pair');
    assert.deepEqual(states.map((s) => s.host), [A, B]);
    for (const s of states) {
      assert.equal(s.stale, undefined);
      assert.ok(s.cpus > 0 && s.memAvailableKiB > 0 && s.diskAvailableKiB > 0, JSON.stringify(s));
      assert.match(s.criuVersion ?? '', /^4\./);
    }
  });

  it('moves a ticker to the one feasible host and names why the other was passed over', async () => {
    const file = '/tmp/e2e-placement-ticks';
    const pid = await startTicker(A, file);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));

    const result = await procmig(['migrate', String(pid), '--from', A, '--to', 'auto', '--among', `${B},nosuchhost.invalid`, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const r = result.json;
    assert.equal(r.ok, true, r.error);
    assert.equal(r.to, B);
    assert.equal(r.placement.host, B);
    const chosen = r.placement.candidates.find((c: { host: string }) => c.host === B);
    assert.ok(chosen.linkRttMs > 0, `the RTT from ${A} to ${B} was measured: ${JSON.stringify(chosen)}`);
    const passed = r.placement.candidates.find((c: { host: string }) => c.host === 'nosuchhost.invalid');
    assert.equal(passed.feasible, false);
    assert.ok(passed.reason.length > 10, passed.reason);
    const lastOnA = await readNumber(A, file);
    assert.equal(await stateOf(A, pid), 'gone');
    await waitFor(async () => (await readNumber(B, file)) > lastOnA);
    assert.equal(await onHost(A, 'ls /var/tmp/process-migrator | grep -c img. || true'), '0');
  });

  it("reads each host's cgroup: lab-c has half a core and 1 GiB, and each host's CPU use is its own", async () => {
    const burner = await onHost(A, `setsid sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 & echo $!`);
    cleanup.push(() => onHost(A, `kill ${burner}`).then(() => undefined));
    const result = await procmig(['hosts', A, B, C, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const [a, b, c] = result.json as { cpus: number; busyCores?: number; memLimitKiB?: number; memAvailableKiB: number }[];
    assert.equal(c.cpus, 0.5);
    assert.equal(c.memLimitKiB, 1024 * 1024);
    assert.ok(c.memAvailableKiB <= 1024 * 1024);
    assert.ok(a.busyCores! >= 0.8, `lab-a runs a CPU burner: ${a.busyCores} cores busy`);
    assert.ok(b.busyCores! < a.busyCores! - 0.5, `lab-b does not see lab-a's burner: ${b.busyCores} cores busy`);
    await onHost(A, `kill ${burner}`);
  });

  it('passes the small host over for the one with more headroom, and says why', async () => {
    // 300 MiB: room for three on lab-c, for dozens on lab-b, whatever the CPUs do meanwhile.
    const { pid } = await startMemoryHolder(A, B, 300, 'e2e-placement-small', cleanup);
    cleanup.push(() => kill(C, pid));
    const result = await procmig(['migrate', String(pid), '--from', A, '--to', 'auto', '--among', `${C},${B}`, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const r = result.json;
    assert.equal(r.to, B, JSON.stringify(r.placement));
    const small = r.placement.candidates.find((c: { host: string }) => c.host === C);
    assert.equal(small.feasible, true);
    assert.match(small.reason, /^lab-c has less headroom \(.* of 0\.5 cores idle, \d+ MiB available: room for .*×\)\.$/);
    const count = '/tmp/e2e-placement-small-count';
    const lastOnA = await readNumber(A, count);
    await waitFor(async () => (await readNumber(B, count)) > lastOnA);
  });

  it('with no feasible host, freezes nothing: the process runs on where it was', async () => {
    const file = '/tmp/e2e-placement-none';
    const pid = await startTicker(A, file);
    cleanup.push(() => kill(A, pid));
    const result = await procmig(['migrate', String(pid), '--from', A, '--to', 'auto', '--among', 'nosuchhost.invalid', '--json']);
    assert.equal(result.code, 1);
    assert.equal(result.json.ok, false);
    assert.match(result.json.error, /Nothing was frozen/);
    assert.equal(await stateOf(A, pid), 'running');
  });
});
