// `--to auto`: the engine measures the candidates, preflights the move to each, and moves the
// process to the best one that passes; the JSON says why each other host was passed over. And
// `procmig hosts`: each host's measured state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, readNumber, startDetached, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

describe('placement', () => {
  it('moves a counter with --to auto to the candidate where it can go, saying why the other was passed over', async () => {
    // The counter runs from a script file sh keeps open: lab-b gets the same file (its /tmp is
    // its own); this machine, the other candidate, has none, so the move cannot go there.
    const tag = `e2e-place-${process.pid}`;
    const script = `/tmp/${tag}.sh`;
    const count = `/tmp/${tag}-count`;
    const body = `i=0\nwhile :; do i=$((i+1)); echo $i > ${count}; sleep 0.1; done\n`;
    // The count file too: the freeze may catch the counter writing it.
    for (const host of [A, B]) await onHost(host, `rm -f /tmp/${tag}*; : > ${count}; cat > ${script} <<'SH'\n${body}SH`);
    const pid = await startDetached(A, `/bin/sh ${script}`);
    let restored = 0;
    // Cleanups run in order: the files go once the counters are killed.
    cleanup.push(() => kill(A, pid), () => kill(B, pid), async () => void (restored && (await kill(B, restored))), async () => void (await Promise.all([A, B].map((h) => onHost(h, `rm -f /tmp/${tag}*`)))));
    await waitFor(async () => (await readNumber(A, count)) > 0);

    const result = await procmig(['migrate', String(pid), '--from', A, '--to', 'auto', '--among', `${B},local`, '--json']);
    assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
    const r = result.json;
    const lastOnA = await readNumber(A, count);
    assert.equal(r.ok, true, r.error);
    assert.equal(r.to, B);
    restored = r.destinationPid;

    assert.equal(r.placement.to, B);
    assert.match(r.placement.reason, /^lab-b was chosen: the only candidate where the move passes the preflight, with headroom for process \d+: .* idle of [\d.]+ usable cores/);
    assert.deepEqual(r.placement.candidates.map((c: { host: string; feasible: boolean }) => [c.host, c.feasible]), [[B, true], ['local', false]]);
    const local = r.placement.candidates[1];
    assert.match(local.reason, /^local was passed over: /);
    assert.ok(local.reason.includes(`A file the process uses is missing on local (${script}); install the same software or copy it there under the same path.`), local.reason);

    // It counts on lab-b from where it was on lab-a, and lab-a runs it no more.
    assert.equal(await stateOf(A, pid), 'gone');
    await waitFor(async () => (await readNumber(B, count)) > lastOnA);
    assert.ok(await tickerAdvances(B, count));
  });

  it('says where a process cannot go at all, and leaves it running', async () => {
    const pid = await startDetached(A, 'sleep 3631');
    cleanup.push(() => kill(A, pid));
    // The sleep's executable is everywhere; a host that does not answer is no place for it.
    const result = await procmig(['migrate', String(pid), '--from', A, '--to', 'auto', '--among', 'nosuch-host.invalid', '--json']);
    assert.equal(result.code, 1);
    assert.equal(result.json.ok, false);
    assert.equal(result.json.placement.to, undefined);
    assert.match(result.json.error, /^No candidate can take process \d+ from lab-a: nosuch-host\.invalid failed the preflight/);
    assert.match(result.json.placement.candidates[0].reason, /^nosuch-host\.invalid was passed over: /);
    assert.equal(await stateOf(A, pid), 'running');
  });

  it('procmig hosts prints each host\'s measured state', async () => {
    const result = await procmig(['hosts', A, B, '--json']);
    assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
    const states = result.json as { host: string; stale: boolean; cpus: number; load1: number; load5: number; memAvailableBytes: number; memLimitBytes?: number; diskFreeBytes: number; criuVersion: string; arch: string; link: { rttMs: number } }[];
    assert.deepEqual(states.map((s) => s.host), [A, B]);
    const cores = Number(await onHost(A, 'getconf _NPROCESSORS_ONLN'));
    const memTotal = Number(await onHost(A, "awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo"));
    for (const s of states) {
      assert.equal(s.stale, false, s.host);
      assert.ok(s.cpus > 0 && s.cpus <= cores, `${s.host}: ${s.cpus} usable cores of ${cores}`);
      assert.ok(s.load1 >= 0 && s.load5 >= 0, `${s.host}: load ${s.load1}`);
      assert.ok(s.memAvailableBytes > 0 && s.memAvailableBytes <= memTotal, `${s.host}: ${s.memAvailableBytes} bytes available`);
      if (s.memLimitBytes !== undefined) assert.ok(s.memAvailableBytes <= s.memLimitBytes, s.host);
      assert.ok(s.diskFreeBytes > 0, s.host);
      assert.match(s.criuVersion, /^\d+\.\d+/);
      assert.equal(s.arch, 'x86_64');
      assert.ok(s.link.rttMs > 0, `${s.host}: RTT ${s.link.rttMs} ms`);
    }
    const text = await procmig(['hosts', A]);
    assert.match(text.stdout, /^lab-a: [\d.]+ usable cores, load per core /);
  });
});
