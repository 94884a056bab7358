// The batch's freeze coordination: everyone prepared before any freeze (Barrier), and only as
// many frozen at once as the hosts have cores (FreezeSlots).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Barrier, FreezeSlots } from '../../src/migration/barrier';

const tick = () => new Promise((r) => setImmediate(r));

describe('Barrier', () => {
  it('releases the arrivals once every party arrived or left', async () => {
    const barrier = new Barrier(3);
    const [a, b, c] = [barrier.party(), barrier.party(), barrier.party()];
    let released = 0;
    void a.arrive().then(() => released++);
    void b.arrive().then(() => released++);
    await tick();
    assert.equal(released, 0);
    c.leave(); // failed before its freeze: nobody waits for it
    await tick();
    assert.equal(released, 2);
  });
});

describe('FreezeSlots', () => {
  it('lets the first freeze at once, `capacity` in all once it is known, and the next when one thaws', async () => {
    let setCapacity!: (n: number) => void;
    let asked = 0;
    const slots = new FreezeSlots(() => (asked++, new Promise((r) => (setCapacity = r))));
    const s = [slots.slot(), slots.slot(), slots.slot(), slots.slot()];
    const got: number[] = [];
    s.forEach((slot, i) => void slot.acquire().then(() => got.push(i)));
    await tick();
    assert.deepEqual(got, [0], 'only the first before the capacity is known');
    assert.equal(asked, 1, 'asked once, at the first acquire');
    setCapacity(2);
    await tick();
    assert.deepEqual(got, [0, 1]);
    s[0].release();
    s[0].release(); // idempotent: frees one slot, not two
    await tick();
    assert.deepEqual(got, [0, 1, 2]);
  });

  it('a capacity that cannot be measured leaves one slot', async () => {
    const slots = new FreezeSlots(() => Promise.reject(new Error('unreachable')));
    const [a, b] = [slots.slot(), slots.slot()];
    const got: string[] = [];
    void a.acquire().then(() => got.push('a'));
    void b.acquire().then(() => got.push('b'));
    await tick();
    assert.deepEqual(got, ['a']);
    a.release();
    await tick();
    assert.deepEqual(got, ['a', 'b']);
  });

  it('a slot released before it was granted (a failure while waiting) gives nothing back twice', async () => {
    const slots = new FreezeSlots(async () => 1);
    const [a, b, c] = [slots.slot(), slots.slot(), slots.slot()];
    const got: string[] = [];
    void a.acquire().then(() => got.push('a'));
    void b.acquire().then(() => got.push('b'));
    await tick();
    b.release(); // gave up while waiting
    void c.acquire().then(() => got.push('c'));
    await tick();
    assert.deepEqual(got, ['a']);
    a.release();
    await tick();
    assert.deepEqual(got, ['a', 'c'], 'b passed its turn on to c');
  });

  it('a capacity of 0 or less still lets one through', async () => {
    const slots = new FreezeSlots(async () => 0);
    let ok = false;
    await slots.slot().acquire().then(() => (ok = true));
    assert.ok(ok);
  });
});
