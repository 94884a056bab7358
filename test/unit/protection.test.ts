// Protection's decisions (src/migration/automatic/protection.ts) against a fake host: checkpoints on an
// interval, failover only when the host stays silent and only with the user's say (or `auto`),
// one copy kept when the old host comes back, and the standby's checkpoints deleted at the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProtectionEvent, ProtectionFailover, ProtectOptions, ProtectRequest } from '../../src/migration/api';
import { Protector } from '../../src/migration/automatic/protection';
import { FakeProtectionSteps } from './fakes/protection';

const request: ProtectRequest = { pid: 100, from: 'lab-a', standby: 'lab-b', everySeconds: 0.05, lostAfterSeconds: 0.3 };

function protector(steps: FakeProtectionSteps, overrides: Partial<ProtectRequest> = {}, options: ProtectOptions = {}) {
  const events: ProtectionEvent[] = [];
  const p = new Protector({ ...request, ...overrides }, { ...options, onEvent: (e) => events.push(e) }, steps);
  return { p, events };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const failovers = (events: ProtectionEvent[]) => events.filter((e): e is ProtectionFailover => e.kind === 'failover');

test('checkpoints follow each other as generations, and stop deletes the standby’s checkpoints', async () => {
  const steps = new FakeProtectionSteps();
  const { p, events } = protector(steps);
  await until(() => events.length >= 3);
  await p.stop();
  assert.deepEqual(events.slice(0, 3).map((e) => e.kind === 'checkpoint' && e.generation), [1, 2, 3]);
  assert.equal(steps.calls.at(-1), 'end');
  assert.equal(await p.done, undefined);
  assert.ok(!steps.calls.some((c) => c.startsWith('restore')));
});

test('auto: a silent host fails over to the newest checkpoint; back without its copy, the standby’s runs alone', async () => {
  const steps = new FakeProtectionSteps();
  const { p, events } = protector(steps, { failover: 'auto' });
  await until(() => steps.committed.length >= 2);
  steps.hostUp = false;
  steps.processRuns = false; // a crash ends the process with its host
  await until(() => failovers(events).length > 0);
  const [failover] = failovers(events);
  assert.equal(failover.ok, true);
  assert.equal(failover.destinationPid, 4242);
  assert.ok(steps.calls.includes(`restore ${steps.committed.at(-1)}`));
  assert.ok((failover.workLostMs ?? -1) >= 0 && (failover.detectionToRunningMs ?? -1) >= 0);
  steps.hostUp = true;
  assert.equal(await p.done, failover);
  assert.match(p.endReason ?? '', /alone/);
  assert.ok(!steps.calls.some((c) => c.startsWith('old ')));
  assert.equal(steps.calls.at(-1), 'end');
});

test('ask: declined, nothing is restored, and protection goes on when the host comes back', async () => {
  const steps = new FakeProtectionSteps();
  let asked = 0;
  const { p, events } = protector(steps, { failover: 'ask' }, { confirmFailover: async () => (asked++, false) });
  await until(() => steps.committed.length >= 1);
  steps.hostUp = false;
  await until(() => failovers(events).length > 0);
  assert.equal(failovers(events)[0].ok, false);
  assert.equal(asked, 1);
  steps.hostUp = true;
  const before = steps.committed.length;
  await until(() => steps.committed.length > before);
  await p.stop();
  assert.ok(!steps.calls.some((c) => c.startsWith('restore')));
});

test('ask without anyone to ask restores nothing', async () => {
  const steps = new FakeProtectionSteps();
  const { p, events } = protector(steps);
  await until(() => steps.committed.length >= 1);
  steps.hostUp = false;
  await until(() => failovers(events).length > 0);
  await p.stop();
  assert.equal(failovers(events)[0].ok, false);
  assert.ok(!steps.calls.some((c) => c.startsWith('restore')));
});

test('the old copy found running when its host comes back is frozen, then the one not chosen ends', async () => {
  for (const keep of ['standby', 'old'] as const) {
    const steps = new FakeProtectionSteps();
    const { p } = protector(steps, { failover: 'auto' }, { chooseSurvivor: async () => keep });
    await until(() => steps.committed.length >= 1);
    steps.hostUp = false; // a partition: the process still runs there
    await until(() => steps.calls.some((c) => c.startsWith('restore')));
    steps.hostUp = true;
    await p.done;
    const after = steps.calls.slice(steps.calls.findIndex((c) => c.startsWith('restore')) + 1);
    assert.deepEqual(after, keep === 'standby' ? ['old STOP', 'old KILL', 'end'] : ['old STOP', 'kill restored 4242', 'old CONT', 'end']);
  }
});

test('without a choice the old copy stays frozen and the reason says what to do', async () => {
  const steps = new FakeProtectionSteps();
  const { p } = protector(steps, { failover: 'auto' });
  await until(() => steps.committed.length >= 1);
  steps.hostUp = false;
  await until(() => steps.calls.some((c) => c.startsWith('restore')));
  steps.hostUp = true;
  await p.done;
  assert.ok(steps.calls.includes('old STOP') && !steps.calls.includes('old KILL') && !steps.calls.includes('old CONT'));
  assert.match(p.endReason ?? '', /frozen/);
});

test('the process ending on its host ends protection', async () => {
  const steps = new FakeProtectionSteps();
  const { p } = protector(steps, { failover: 'auto' });
  await until(() => steps.committed.length >= 1);
  steps.processRuns = false;
  await p.done;
  assert.match(p.endReason ?? '', /ended on lab-a/);
  assert.ok(!steps.calls.some((c) => c.startsWith('restore')));
});

test('a refused start rejects with its sentence and leaves nothing on the standby', async () => {
  const steps = new FakeProtectionSteps();
  steps.startError = new Error('lab-b has 1.0 MiB free for checkpoints and protecting process 100 needs about 2.0 GiB; free disk space on lab-b or pick another standby.');
  const { p } = protector(steps);
  await assert.rejects(p.done, /free disk space on lab-b/);
  assert.deepEqual(steps.calls, ['start', 'end']);
});
