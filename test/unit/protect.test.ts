// The protect loop against a fake Protection: what the standby keeps, when it fails over, and
// what happens to an old copy found running when its host answers again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protect, type ProtectEvent, type ProtectRequest } from '../../src/automatic/protect';
import type { Protection, StandbyCheckpoint } from '../../src/migration/api';

/** A host that answers `answers` probes, then none (for `backAfter` more, then again), its
 * process started at `start` (as of each probe). */
function fakeProtection(script: { answers: number; start?: (probe: number) => string; backAfter?: number }) {
  let probes = 0;
  let taken = 0;
  const kept = new Set<string>();
  const calls: string[] = [];
  const protection: Protection = {
    async checkpoint(request) {
      const dir = `img.${++taken}`;
      kept.add(dir);
      const checkpoint = { pid: request.pid, from: request.from, standby: request.to, dir, takenAt: Date.now(), freezeMs: 5, totalMs: 9, bytes: 1, options: [], plan: { dump: [], restore: [] } } satisfies StandbyCheckpoint;
      return { ok: true, checkpoint };
    },
    async roomProblem() {
      return undefined;
    },
    async restore(checkpoint) {
      calls.push(`restore ${checkpoint.dir}`);
      return { pid: 9000 };
    },
    async discard(checkpoint) {
      assert.ok(kept.delete(checkpoint.dir), `${checkpoint.dir} discarded twice`);
    },
    async started() {
      probes++;
      const back = script.backAfter !== undefined && probes > script.answers + script.backAfter;
      if (probes > script.answers && !back) throw new Error('no answer');
      return { boot: 'b1', start: script.start?.(probes) ?? '100' };
    },
    async signal(host, pid, signal) {
      calls.push(`${signal} ${host} ${pid}`);
    },
  };
  return { protection, kept, calls, taken: () => taken };
}

const request: ProtectRequest = { pid: 42, from: 'a', standby: 'b', everyS: 0, failover: 'auto', lostAfterS: 0 };
const noWait = async () => undefined;

describe('protect', () => {
  it('keeps the newest checkpoint only, and deletes it when protection ends', async () => {
    const fake = fakeProtection({ answers: 1000 });
    const controller = new AbortController();
    const events: ProtectEvent[] = [];
    await protect({ protection: fake.protection, sleep: noWait, onEvent: (e) => (events.push(e), fake.taken() >= 5 && controller.abort()) }, request, controller.signal);
    assert.equal(events.filter((e) => e.event === 'checkpoint').length, 5);
    assert.equal(fake.kept.size, 0, 'deleted when protection ends');
  });

  it('fails over to the newest checkpoint when the host stops answering; the old copy gone on return, nothing else runs', async () => {
    const fake = fakeProtection({ answers: 4, backAfter: 2, start: (probe) => (probe <= 4 ? '100' : 'gone') });
    const events: ProtectEvent[] = [];
    await protect({ protection: fake.protection, sleep: noWait, onEvent: (e) => events.push(e) }, request);
    assert.deepEqual(events.map((e) => e.event).filter((e, i, all) => e !== all[i - 1]), ['checkpoint', 'lost', 'failover', 'returned']);
    assert.deepEqual(fake.calls, [`restore img.${fake.taken()}`], 'the newest');
    assert.equal(fake.kept.size, 0);
    assert.equal((events.at(-1) as { copy: string }).copy, 'gone');
  });

  it('asks before failing over; declined, nothing is restored', async () => {
    const fake = fakeProtection({ answers: 2 });
    const controller = new AbortController();
    const questions: string[] = [];
    const confirm = async (q: string) => {
      questions.push(q);
      controller.abort();
      return false;
    };
    await protect({ protection: fake.protection, sleep: noWait, onEvent: () => undefined, confirm }, { ...request, failover: 'ask', lostAfterS: 0 }, controller.signal);
    assert.match(questions[0], /^a has not answered for 0 s: restore process 42 from its .* checkpoint on b\?$/);
    assert.deepEqual(fake.calls, []);
  });

  it('an old copy still running when its host answers again is frozen, and the user picks', async () => {
    const fake = fakeProtection({ answers: 3, backAfter: 1 });
    const events: ProtectEvent[] = [];
    const confirm = async () => true;
    await protect({ protection: fake.protection, sleep: noWait, onEvent: (e) => events.push(e), confirm }, request);
    assert.deepEqual(fake.calls.slice(1), ['STOP a 42', 'KILL a 42']);
    assert.equal((events.at(-1) as { kept: string }).kept, 'standby');
  });

  it('refuses to start when the standby cannot hold its checkpoints, saying so', async () => {
    const fake = fakeProtection({ answers: 1000 });
    fake.protection.roomProblem = async () => 'b has 1 GiB free for images, less than the two checkpoints.';
    await assert.rejects(protect({ protection: fake.protection, sleep: noWait, onEvent: () => undefined }, request), /^Error: b has 1 GiB free/);
    assert.equal(fake.taken(), 0);
  });

  it('a process that ended on a host that runs on is not failed over', async () => {
    const fake = fakeProtection({ answers: 1000, start: (probe) => (probe < 3 ? '100' : 'gone') });
    const events: ProtectEvent[] = [];
    await protect({ protection: fake.protection, sleep: noWait, onEvent: (e) => events.push(e) }, request);
    assert.equal(events.at(-1)?.event, 'ended');
    assert.deepEqual(fake.calls, []);
    assert.equal(fake.kept.size, 0);
  });
});
