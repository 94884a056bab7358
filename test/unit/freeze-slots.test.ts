// A batch's freeze slots from what the hosts measure (src/migration/freezeSlots.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostState } from '../../src/migration/api';
import { chooseFreezeSlots } from '../../src/migration/freezeSlots';
import { idleCores } from '../../src/migration/hostMeasure';

const host = (name: string, cpus: number, busyCores?: number, load1PerCore = 0): HostState => ({
  host: name, measuredAt: 0, cpus, load1PerCore, load5PerCore: load1PerCore, memAvailableKiB: 1 << 20, diskAvailableKiB: 1 << 20,
  ...(busyCores !== undefined ? { busyCores } : {}),
});

// The states are read while the batch's first process is frozen: its use is in them.
describe('chooseFreezeSlots', () => {
  it('two machines: the first, and a process more per core the busier host has idle beside it', () => {
    assert.deepEqual(chooseFreezeSlots([host('a', 8, 0.4), host('b', 2, 0.7)], 8), { count: 2, reason: 'b: 1.3 of 2 cores idle with one process frozen, the fewer of the two hosts' });
  });
  it('a host busy with other work, or under a CPU quota, gets fewer', () => {
    assert.equal(chooseFreezeSlots([host('a', 4, 3.6), host('b', 4, 0.7)], 8).count, 1);
    assert.equal(chooseFreezeSlots([host('a', 4, 0.4), host('lab-c', 0.5, 0.5)], 8).count, 1);
    assert.equal(chooseFreezeSlots([host('a', 16, 2.4), host('b', 16, 5.7)], 8).count, 8, 'never more than the batch');
  });
  it('one reading only: the runnable load stands for the CPU use', () => {
    assert.equal(idleCores(host('a', 4, undefined, 0.5)), 2);
  });
  it('two hosts of one machine (the same boot ID) share its cores, two for each more frozen process', () => {
    const on = (state: HostState, bootId: string): HostState => ({ ...state, bootId });
    assert.deepEqual(chooseFreezeSlots([on(host('lab-a', 2, 0.4), 'k1'), on(host('lab-b', 2, 0.7), 'k1')], 8), {
      count: 1,
      reason: 'lab-a and lab-b are one machine: 0.9 of 2 cores idle with one process frozen, about 2 for each more',
    });
    assert.equal(chooseFreezeSlots([on(host('a', 8, 0.5), 'k1'), on(host('b', 8, 0.8), 'k1')], 8).count, 4);
    assert.equal(chooseFreezeSlots([on(host('a', 2, 0.4), 'k1'), on(host('b', 2, 0.7), 'k2')], 8).count, 2, 'two machines');
  });
  it('nothing measured: one at a time, and says so', () => {
    assert.deepEqual(chooseFreezeSlots([], 4), { count: 1, reason: 'neither host could be measured: one at a time' });
  });
});
