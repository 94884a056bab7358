// The policy daemon over a fake engine and a fake clock: it moves the marked process once its
// host stays busy, reports the move with its trigger, follows a PID mark to its new host, and in
// a dry run only says what it would do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostState, MigrationRequest, MigrationResult, ProcessInfo } from '../../src/migration/api';
import type { Policy, WatchEvent } from '../../src/migration/api';
import { watchPolicy, type WatchEngine } from '../../src/migration/automatic/watch';

const ps = (host: string): ProcessInfo[] =>
  host === 'lab-a'
    ? [
        { pid: 10, ppid: 1, user: 'dev', uid: 1000, cpu: 90, rssKiB: 1000, name: 'sh', command: 'sh -c marked', state: 'S' },
        { pid: 20, ppid: 1, user: 'dev', uid: 1000, cpu: 99, rssKiB: 1000, name: 'sh', command: 'sh -c unmarked', state: 'S' },
      ]
    : [];

function fakeEngine(loads: number[]) {
  const migrations: MigrationRequest[] = [];
  let round = 0;
  const engine: WatchEngine = {
    hostStates: async (hosts): Promise<HostState[]> => {
      const load1 = loads[Math.min(round++, loads.length - 1)];
      return hosts.map((host) => ({ host, stale: false, cpus: 2, load1, load5: load1, memAvailableBytes: 1 << 30, diskFreeBytes: 1 << 30 }));
    },
    listProcesses: async (host) => ps(host),
    migrate: async (request): Promise<MigrationResult> => {
      migrations.push(request);
      return { ok: true, from: request.from, to: 'lab-b', sourcePid: request.pid, destinationPid: 77, strategy: 'stop-and-copy', strategyReason: '', phases: {}, freezeMs: 5, totalMs: 9, bytes: 1, options: [], startedAt: '' };
    },
  };
  return { engine, migrations };
}

async function watchFor(engine: WatchEngine, policy: Policy, rounds: number, dryRun = false): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const controller = new AbortController();
  let t = 0;
  let done = 0;
  await watchPolicy(engine, policy, {
    dryRun,
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    onProblem: (s) => assert.fail(s),
    now: () => t,
    sleep: async (ms) => {
      t += ms;
      if (++done >= rounds) controller.abort();
    },
  });
  return events;
}

const policy: Policy = { rules: [{ name: 'busy', host: 'lab-a', loadPerCoreAbove: 0.8, forSeconds: 20, to: 'auto' }], marked: [{ host: 'lab-a', pid: 10 }], pollSeconds: 10 };

describe('watchPolicy', () => {
  it('moves only the marked process, once the load held for the hold time, with its trigger', async () => {
    const { engine, migrations } = fakeEngine([0.2, 1.5, 1.5, 1.5, 1.5, 1.5]);
    const events = await watchFor(engine, policy, 6);
    assert.deepEqual(migrations, [{ pid: 10, from: 'lab-a', to: 'auto' }]);
    assert.equal(events.length, 1);
    const e = events[0];
    assert.equal(e.kind, 'moved');
    if (e.kind === 'moved') {
      assert.equal(e.result.trigger, "Policy 'busy': lab-a's load per core stayed above 0.8 for 20 s (1.5 now).");
      assert.equal(e.result.to, 'lab-b');
    }
  });

  it('a dry run says what it would move and moves nothing', async () => {
    const { engine, migrations } = fakeEngine([1.5]);
    const events = await watchFor(engine, policy, 3, true);
    assert.deepEqual(migrations, []);
    assert.deepEqual(events.map((e) => [e.kind, e.move.pid, e.move.host, e.move.to]), [['would-move', 10, 'lab-a', 'auto']]);
  });
});
