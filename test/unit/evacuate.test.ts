// Evacuate: the user's own trees (orphans of init, not daemons) are placed first; those that
// cannot move are named and never frozen; those bound for one host move as one batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evacuate, workTreeCandidates } from '../../src/automatic/evacuate';
import { HostStates } from '../../src/automatic/hostStates';
import type { BatchRequest, MigrationRequest, ProcessInfo } from '../../src/migration/api';

const p = (pid: number, ppid: number, name: string, uid = 1000, rssKiB = 1024): ProcessInfo => ({ pid, ppid, user: uid ? 'dev' : 'root', uid, cpu: 0, rssKiB, name, command: name, state: 'S' });
const PROCESSES = [p(1, 0, 'tini', 0), p(10, 1, 'sshd', 0), p(20, 1, 'python3'), p(21, 20, 'python3'), p(30, 1, 'node'), p(40, 1, 'redis-server'), p(50, 1, 'ssh-agent'), p(60, 1, 'java', 0)];

describe('evacuate', () => {
  it('picks the user\'s own trees: orphans of init, not a login\'s daemons, not other users\'', () => {
    assert.deepEqual(workTreeCandidates(PROCESSES, 1000).map((t) => t.pid), [20, 30, 40]);
  });

  it('places every tree before freezing any, leaves the infeasible one with its reason, batches per host', async () => {
    const batches: BatchRequest[] = [];
    const engine = {
      listProcesses: async () => [...PROCESSES, p(70, 1, 'postgres')],
      // postgres was started by init, as a service: it is not the user's work.
      fromLogin: async (_host: string, pids: readonly number[]) => pids.filter((pid) => pid !== 70),
      checkHost: async (host: string) => ({ host, reachable: true, problems: [], capabilities: { uid: 1000 } as never }),
      checkFeasible: async (r: MigrationRequest) =>
        r.pid === 30 ? { host: r.to, feasible: false, problems: ['The process uses io_uring, which CRIU cannot checkpoint.'] } : { host: r.to, feasible: true, problems: [], rssKiB: r.pid === 40 ? 3 << 20 : 1024, cpuCores: 0.1 },
      migrateMany: async (b: BatchRequest) => {
        batches.push(b);
        return { ok: true, from: b.from, to: b.to, freezeMs: 1, totalMs: 1, bytes: 1, processes: b.pids.map((pid) => ({ ok: true, from: b.from, to: b.to, sourcePid: pid, destinationPid: pid, strategy: 'stop-and-copy' as const, strategyReason: '', phases: {}, freezeMs: 1, totalMs: 1, bytes: 1, options: [], startedAt: '' })) };
      },
    };
    const state = (host: string, memAvailableKiB: number) => ({ host, measuredAt: Date.now(), cpus: 2, load1PerCore: 0, load5PerCore: 0, memAvailableKiB, diskAvailableKiB: 1 << 30 });
    const states = new HostStates({ measureHost: async (h: string) => state(h, h === 'lab-b' ? 8 << 20 : 2 << 20) });
    const result = await evacuate(engine, states, { from: 'lab-a', to: 'auto', among: ['lab-b', 'lab-c'] });
    assert.equal(result.ok, true);
    assert.deepEqual(result.left.map((l) => [l.pid, l.reason]), [[30, 'No host can take the process: The process uses io_uring, which CRIU cannot checkpoint.']]);
    assert.deepEqual(result.results.map((r) => r.sourcePid).sort(), [20, 40]);
    assert.ok(batches.every((b) => !b.pids.includes(30)), 'the one that cannot move is never frozen');
    assert.ok(result.results.every((r) => r.trigger === 'evacuation of lab-a'));
  });

  it('counts the trees already placed on a host: two that each fit lab-b, which holds one, are split', async () => {
    const big = [p(1, 0, 'init', 0), p(20, 1, 'train'), p(30, 1, 'train')];
    const engine = {
      listProcesses: async () => big,
      fromLogin: async (_host: string, pids: readonly number[]) => [...pids],
      checkHost: async (host: string) => ({ host, reachable: true, problems: [], capabilities: { uid: 1000 } as never }),
      checkFeasible: async (r: MigrationRequest) => ({ host: r.to, feasible: true, problems: [], rssKiB: 3 << 20, cpuCores: 0.1 }),
      migrateMany: async (b: BatchRequest) => ({ ok: true, from: b.from, to: b.to, freezeMs: 1, totalMs: 1, bytes: 1, processes: b.pids.map((pid) => ({ ok: true, from: b.from, to: b.to, sourcePid: pid, destinationPid: pid, strategy: 'stop-and-copy' as const, strategyReason: '', phases: {}, freezeMs: 1, totalMs: 1, bytes: 1, options: [], startedAt: '' })) }),
    };
    // 3 GiB each: lab-b (5 GiB) has the most room for one, lab-c (4 GiB) for the other.
    const state = (host: string, memAvailableKiB: number) => ({ host, measuredAt: Date.now(), cpus: 2, busyCores: 0, load1PerCore: 0, load5PerCore: 0, memAvailableKiB, diskAvailableKiB: 1 << 30 });
    const states = new HostStates({ measureHost: async (h: string) => state(h, h === 'lab-b' ? 5 << 20 : 4 << 20) });
    const result = await evacuate(engine, states, { from: 'lab-a', to: 'auto', among: ['lab-b', 'lab-c'] });
    assert.deepEqual(result.left, []);
    assert.deepEqual(result.results.map((r) => r.to).sort(), ['lab-b', 'lab-c']);
  });
});
