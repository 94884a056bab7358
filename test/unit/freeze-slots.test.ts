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

describe('chooseFreezeSlots', () => {
  it('idle hosts: as many as the fewer cores of the two', () => {
    assert.deepEqual(chooseFreezeSlots([host('a', 8, 0), host('b', 2, 0.04)], 8), { count: 2, reason: 'b: 2 of 2 cores idle, the fewer of the two hosts' });
  });
  it('a host busy with other work, or under a CPU quota, gets fewer', () => {
    assert.equal(chooseFreezeSlots([host('a', 4, 3.1), host('b', 4, 0)], 8).count, 1);
    assert.equal(chooseFreezeSlots([host('a', 4, 0), host('lab-c', 0.5, 0)], 8).count, 1);
    assert.equal(chooseFreezeSlots([host('a', 16, 2), host('b', 16, 5)], 8).count, 8, 'never more than the batch');
  });
  it('one reading only: the runnable load stands for the CPU use', () => {
    assert.equal(idleCores(host('a', 4, undefined, 0.5)), 2);
  });
  it('two hosts of one machine (the same boot ID) share its cores, two for each frozen process', () => {
    const on = (state: HostState, bootId: string): HostState => ({ ...state, bootId });
    assert.deepEqual(chooseFreezeSlots([on(host('lab-a', 2, 0.05), 'k1'), on(host('lab-b', 2, 0.05), 'k1')], 8), {
      count: 1,
      reason: 'lab-a and lab-b are one machine: 1.9 of 2 cores idle, about 2 for each frozen process',
    });
    assert.equal(chooseFreezeSlots([on(host('a', 8, 1), 'k1'), on(host('b', 8, 1), 'k1')], 8).count, 3);
    assert.equal(chooseFreezeSlots([on(host('a', 2, 0.05), 'k1'), on(host('b', 2, 0.05), 'k2')], 8).count, 2, 'two machines: a process per idle core');
  });
  it('nothing measured: one at a time, and says so', () => {
    assert.deepEqual(chooseFreezeSlots([], 4), { count: 1, reason: 'neither host could be measured: one at a time' });
  });
});
