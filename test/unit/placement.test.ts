// Placement (src/migration/automatic/placement.ts): 200 synthetic hosts ranked by headroom for one process,
// ties by link, infeasible ones last with their reasons; and the feasibility step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostState } from '../../src/migration/api';
import { PreflightError } from '../../src/migration/errors';
import { placeProcess, processFacts, rankCandidates, type CandidateFacts, type ProcessFacts } from '../../src/migration/automatic/placement';

const GiB = 1 << 30;
const MiB = 1 << 20;

/** A deterministic generator (mulberry32): the same 200 hosts every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function state(host: string, overrides: Partial<HostState> = {}): HostState {
  return { host, stale: false, cpus: 4, load1: 0.5, load5: 0.5, memAvailableBytes: 8 * GiB, diskFreeBytes: 100 * GiB, criuVersion: '4.2.1', arch: 'x86_64', ...overrides };
}

const proc: ProcessFacts = { pid: 4242, from: 'src', cpuCores: 1, rssBytes: 512 * MiB };

/** Headroom as the ranking defines it: the tighter of idle cores over CPU use and memory over RSS. */
function headroom(s: HostState): number {
  return Math.min((s.cpus * Math.max(0, 1 - s.load1)) / proc.cpuCores, s.memAvailableBytes / proc.rssBytes);
}

function synthetic(): CandidateFacts[] {
  const rnd = random(11);
  return Array.from({ length: 200 }, (_, i) => {
    const host = `node-${String(i).padStart(3, '0')}`;
    const cpus = [1, 2, 4, 8, 16, 32][Math.floor(rnd() * 6)];
    const s = state(host, { cpus, load1: Math.round(rnd() * 120) / 100, memAvailableBytes: Math.round(rnd() * 64) * 256 * MiB });
    const problems = i % 9 === 4 ? [`${host} has CRIU 3.17; the move needs CRIU 4.2 or later there.`] : [];
    return { state: s, problems, mibPerSec: Math.round(rnd() * 1000) / 10, rttMs: Math.round(rnd() * 500) / 10 };
  });
}

describe('rankCandidates over 200 synthetic hosts', () => {
  const candidates = synthetic();
  const placement = rankCandidates(proc, candidates);
  const byHost = new Map(candidates.map((c) => [c.state.host, c]));

  it('lists every candidate once: the feasible ones first, best headroom first (10% steps)', () => {
    assert.equal(placement.candidates.length, 200);
    assert.equal(new Set(placement.candidates.map((c) => c.host)).size, 200);
    const feasible = placement.candidates.filter((c) => c.feasible);
    assert.equal(feasible.length, 200 - candidates.filter((c) => c.problems.length).length);
    assert.ok(placement.candidates.slice(0, feasible.length).every((c) => c.feasible), 'infeasible ones come last');
    const step = (c: { host: string }) => {
      const h = headroom(byHost.get(c.host)!.state);
      return h > 0 ? Math.floor(Math.log(h) / Math.log(1.1)) : -Infinity;
    };
    for (let i = 1; i < feasible.length; i++) assert.ok(step(feasible[i - 1]) >= step(feasible[i]), `${feasible[i - 1].host} before ${feasible[i].host}`);
  });

  it('chooses the host with the most headroom, and says why', () => {
    const best = Math.max(...candidates.filter((c) => !c.problems.length).map((c) => headroom(c.state)));
    assert.equal(placement.to, placement.candidates[0].host);
    assert.ok(headroom(byHost.get(placement.to!)!.state) >= best / 1.1);
    assert.match(placement.reason, new RegExp(`^${placement.to} was chosen: it has the most headroom for process 4242: .* idle of \\d+ usable cores for its 1\\.00, and .* of memory available for its 512.0 MiB`));
  });

  it('within one step of headroom, orders by the faster link', () => {
    const feasible = placement.candidates.filter((c) => c.feasible);
    for (let i = 1; i < feasible.length; i++) {
      const [a, b] = [feasible[i - 1], feasible[i]];
      if (/as much headroom as/.test(b.reason)) assert.ok(byHost.get(a.host)!.mibPerSec! >= byHost.get(b.host)!.mibPerSec!, `${a.host} before ${b.host}`);
    }
  });

  it('gives every other host one sentence why it was passed over', () => {
    for (const c of placement.candidates.slice(1)) {
      assert.match(c.reason, new RegExp(`^${c.host} was passed over: `));
      assert.equal(c.reason.split(/\. (?=[A-Z])/).length, 1, c.reason);
    }
    const old = placement.candidates.find((c) => !c.feasible)!;
    assert.equal(old.reason, `${old.host} was passed over: ${old.host} has CRIU 3.17; the move needs CRIU 4.2 or later there.`);
    assert.equal(old.score, undefined);
  });

  it('is deterministic', () => {
    assert.deepEqual(rankCandidates(proc, synthetic()), placement);
    assert.deepEqual(rankCandidates(proc, [...synthetic()].reverse()), placement, 'whatever order the candidates come in');
  });
});

describe('rankCandidates', () => {
  it('a tie goes to the faster link, and the loser is told so', () => {
    const p = rankCandidates(proc, [
      { state: state('slow'), problems: [], mibPerSec: 20 },
      { state: state('fast'), problems: [], mibPerSec: 90 },
    ]);
    assert.equal(p.to, 'fast');
    assert.match(p.reason, /as much headroom as slow, and the faster link \(90 MiB\/s against 20 MiB\/s\)\.$/);
    assert.equal(p.candidates[1].reason, 'slow was passed over: as much headroom as fast, but a slower link (20 MiB/s against 90 MiB/s).');
  });

  it('without MiB/s, the shorter round trip is the faster link', () => {
    const p = rankCandidates(proc, [
      { state: state('far'), problems: [], rttMs: 80 },
      { state: state('near'), problems: [], rttMs: 2 },
    ]);
    assert.equal(p.to, 'near');
  });

  it('the tighter resource decides: many idle cores do not make up for too little memory', () => {
    const p = rankCandidates(proc, [
      { state: state('cores', { cpus: 32, load1: 0, memAvailableBytes: 600 * MiB }), problems: [] },
      { state: state('balanced', { cpus: 4, load1: 0.25, memAvailableBytes: 8 * GiB }), problems: [] },
    ]);
    assert.equal(p.to, 'balanced');
    assert.equal(p.candidates[1].reason, "cores was passed over: less headroom for process 4242 (600.0 MiB of memory available against balanced's 8.0 GiB).");
  });

  it('with no feasible candidate, chooses none and says so', () => {
    const p = rankCandidates(proc, [{ state: state('x'), problems: ['x is aarch64 and src is x86_64.'] }]);
    assert.equal(p.to, undefined);
    assert.match(p.reason, /^No candidate can take process 4242 from src: x failed the preflight/);
    assert.match(rankCandidates(proc, []).reason, /^There is no other host/);
  });
});

describe('placeProcess (the feasibility step)', () => {
  it("runs every candidate's preflight, bounded, and turns its sentences into the reason", async () => {
    let running = 0;
    let most = 0;
    const hosts = Array.from({ length: 10 }, (_, i) => `h${i}`);
    const p = await placeProcess(hosts, {
      process: async () => proc,
      states: async (hs) => hs.map((h, i) => state(h, { load1: i / 10 })),
      preflight: async (h) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
        if (h === 'h0') throw new PreflightError(['h0 lacks /opt/app/data.db, which process 4242 has open; copy it there.']);
        if (h === 'h1') throw new Error('connect ECONNREFUSED');
      },
      mibPerSec: () => undefined,
      maxInFlight: 3,
    });
    assert.equal(most, 3);
    assert.equal(p.to, 'h2');
    assert.deepEqual(p.candidates.slice(-2).map((c) => c.reason), ['h0 was passed over: h0 lacks /opt/app/data.db, which process 4242 has open; copy it there.', 'h1 was passed over: connect ECONNREFUSED']);
  });
});

describe('processFacts', () => {
  it("sums the tree's CPU and RSS", () => {
    const ps = [
      { pid: 10, ppid: 1, cpu: 50, rssKiB: 1000 },
      { pid: 11, ppid: 10, cpu: 25, rssKiB: 24 },
      { pid: 12, ppid: 1, cpu: 99, rssKiB: 9999 },
    ];
    assert.deepEqual(processFacts(10, 'a', ps), { pid: 10, from: 'a', cpuCores: 0.75, rssBytes: 1024 * 1024 });
  });
});
