// HostStates (src/migration/automatic/hostStates.ts): bounded probes, stale marking, load from the cgroup's
// CPU rate between probes (else loadavg), links from probes and from real transfers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSample } from '../../src/helper/hostState';
import { HostStates, usageRate } from '../../src/migration/automatic/hostStates';

function sample(overrides: Partial<HostSample> = {}): HostSample {
  return { arch: 'x86_64', cpusOnline: 4, cpus: 4, uptime: 100, loadavg1: 2, loadavg5: 1, memAvailableBytes: 1 << 30, diskFreeBytes: 10 << 30, imagesDir: '/var/tmp/process-migrator', ...overrides };
}

describe('HostStates', () => {
  it('keeps at most maxInFlight probes running, however many hosts are asked for', async () => {
    let running = 0;
    let most = 0;
    const states = new HostStates({
      maxInFlight: 4,
      probe: async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return { sample: sample(), rttMs: 3 };
      },
    });
    const hosts = Array.from({ length: 20 }, (_, i) => `h${i}`);
    const got = await states.states(hosts);
    states.dispose();
    assert.equal(most, 4);
    assert.deepEqual(got.map((s) => s.host), hosts);
    assert.ok(got.every((s) => !s.stale && s.link?.rttMs === 3));
  });

  it('without a CPU counter, load per core is loadavg over the online CPUs', async () => {
    const states = new HostStates({ probe: async () => ({ sample: sample(), rttMs: 1 }) });
    const [s] = await states.states(['a']);
    states.dispose();
    assert.deepEqual([s.cpus, s.load1, s.load5], [4, 0.5, 0.25]);
  });

  it("with the cgroup's CPU counter, a second probe at once gives its rate over the usable cores", async () => {
    const probes = [sample({ cpus: 2, cpuQuota: 2, uptime: 100, cpuUsageNs: 0 }), sample({ cpus: 2, cpuQuota: 2, uptime: 102, cpuUsageNs: 3e9 })];
    const states = new HostStates({ secondSampleMs: 1, probe: async () => ({ sample: probes.shift()!, rttMs: 1 }) });
    const [s] = await states.states(['a']);
    states.dispose();
    // 3 s of CPU in 2 s: 1.5 cores busy of 2 (the machine's loadavg says nothing of this cgroup).
    assert.deepEqual([s.cpus, s.load1, s.load5], [2, 0.75, 0.75]);
  });

  it('marks a host stale, keeping its last numbers, when its probe fails, with the error in one sentence', async () => {
    let fail = false;
    const states = new HostStates({
      probe: async () => {
        if (fail) throw new Error('connect ECONNREFUSED 10.0.0.7:22');
        return { sample: sample(), rttMs: 1 };
      },
    });
    await states.states(['a']);
    fail = true;
    const [s] = await states.states(['a'], { fresh: true });
    states.dispose();
    assert.equal(s.stale, true);
    assert.equal(s.error, 'Could not measure a: connect ECONNREFUSED 10.0.0.7:22.');
    assert.equal(s.memAvailableBytes, 1 << 30);
  });

  it('marks an entry stale once older than twice the refresh period', async () => {
    let now = 1_000_000;
    const states = new HostStates({ periodMs: 1000, now: () => now, probe: async () => ({ sample: sample(), rttMs: 1 }) });
    await states.states(['a']);
    assert.equal(states.state('a').stale, false);
    now += 2500;
    assert.equal(states.state('a').stale, true);
    states.dispose();
  });

  it('tells listeners of each new measurement', async () => {
    const states = new HostStates({ probe: async () => ({ sample: sample(), rttMs: 1 }) });
    const seen: string[] = [];
    const off = states.onState((s) => seen.push(s.host));
    await states.states(['a', 'b']);
    off();
    await states.states(['c']);
    states.dispose();
    assert.deepEqual(seen.sort(), ['a', 'b']);
  });

  it('remembers MiB/s from real migrations, between any two hosts', () => {
    const states = new HostStates({ probe: async () => ({ sample: sample(), rttMs: 1 }) });
    states.recordTransfer({ ok: true, from: 'lab-a', to: 'lab-b', bytes: 100 << 20, phases: { dump: 1500, transfer: 500 } });
    states.recordTransfer({ ok: false, from: 'lab-a', to: 'lab-c', bytes: 100 << 20, phases: { dump: 100 } });
    assert.equal(states.link('lab-a', 'lab-b')?.mibPerSec, 50);
    assert.equal(states.link('lab-a', 'lab-c'), undefined, 'a failed migration measures nothing');
    assert.equal(states.link('lab-b', 'lab-a'), undefined);
  });
});

describe('usageRate', () => {
  it('averages over the window, or as far back as the samples go', () => {
    const usage = [0, 100, 200, 290, 300].map((t) => ({ uptime: t, usageNs: t * 0.5e9 }));
    assert.equal(usageRate(usage, 60), 0.5);
    assert.equal(usageRate([{ uptime: 0, usageNs: 0 }, { uptime: 10, usageNs: 20e9 }], 300), 2);
  });
});
