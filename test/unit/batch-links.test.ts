// BatchLinks (src/migration/batchLinks.ts): the trees of one batch learn each other's sockets,
// the destination's loopback is locked once for their crossing connections and unlocked when the
// last tree settled, and a linked tree that failed after the freeze takes its partners back with it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { BatchLinks } from '../../src/migration/batchLinks';
import { FakeHost } from './fakes/transport';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A batch of two trees moving to the fake host `destination`. */
function twoTrees(destination: string) {
  const links = new BatchLinks(2);
  const host = new FakeHost(destination);
  return { links, host, helper: HostHelper.for(host), a: links.party(), b: links.party() };
}

describe('BatchLinks', () => {
  it('each tree learns the socket inodes of the others once all shared, or left before they could', async () => {
    const links = new BatchLinks(3);
    const [a, b, c] = [links.party(), links.party(), links.party()];
    let aSaw: Set<number> | undefined;
    void a.share([1, 2]).then((s) => (aSaw = s));
    const bSees = b.share([3]);
    await tick();
    assert.equal(aSaw, undefined, 'a share resolved before every tree shared or left');
    c.leave(false);
    assert.deepEqual([...(await bSees)].sort(), [1, 2]);
    await tick();
    assert.deepEqual([...aSaw!], [3]);
  });

  it('without crossing connections: not linked, and nothing is locked or unlocked on the destination', async () => {
    const { links, host: destination, helper, a, b } = twoTrees('links-b1');
    await Promise.all([a.share([]), b.share([])]);
    assert.equal(links.linked, false);
    await a.lock(helper);
    await b.lock(helper);
    assert.deepEqual(await Promise.all([a.restored(), b.restored()]), [true, true]);
    assert.deepEqual(destination.commands, []);
  });

  it('locks the destination’s loopback once, under a guard, for every crossing port, and lifts it after the last tree ran there', async () => {
    const { links, host: destination, helper, a, b } = twoTrees('links-b2');
    a.crossing([5678]);
    b.crossing([40100, 5678]);
    assert.equal(links.linked, true);

    await a.lock(helper);
    await b.lock(helper);
    const locks = destination.ran('loopback-lock');
    assert.equal(locks.length, 1);
    const [, name, ...ports] = locks[0];
    assert.match(name, /^procmig-\d+-\d+$/);
    assert.deepEqual(ports, ['5678', '40100']);
    const guard = destination.spawned.filter((c) => c.args[0] === 'guard');
    assert.equal(guard.length, 1);
    assert.equal(guard[0].told(), `lock ${name}\n`);

    let aDone: boolean | undefined;
    void a.restored().then((ok) => (aDone = ok));
    await tick();
    assert.equal(aDone, undefined, 'the first tree restored went on before its partner ran');
    assert.deepEqual(destination.ran('loopback-unlock'), []);
    assert.equal(await b.restored(), true);
    await tick();
    assert.equal(aDone, true);
    assert.deepEqual(destination.ran('loopback-unlock'), [['loopback-unlock', name]]);
    assert.equal(guard[0].told(), `lock ${name}\ndone\n`, 'the guard is released once the lock is lifted');
  });

  it('a linked tree that fails after the freeze takes the others back; one that fails before does not', async () => {
    const before = new BatchLinks(2);
    const [a, b] = [before.party(), before.party()];
    a.crossing([7000]);
    b.leave(false);
    assert.equal(await a.restored(), true);

    const after = new BatchLinks(3);
    const [c, d, e] = [after.party(), after.party(), after.party()];
    c.crossing([7000]);
    assert.equal(d.linked, true, 'each tree sees that the batch is linked');
    const cResult = c.restored();
    d.leave(true);
    e.leave(true); // leaving twice, or after settling, counts once
    e.leave(true);
    assert.equal(await cResult, false);
  });

  it('unlinked trees neither wait for nor take back each other: each succeeds or fails on its own', async () => {
    const links = new BatchLinks(2);
    const [a, b] = [links.party(), links.party()];
    await Promise.all([a.share([]), b.share([])]);
    assert.equal(a.linked, false);
    assert.equal(await a.restored(), true, 'a went on while b was still frozen');
    b.leave(true); // and b's failure after its freeze is its own (migrate-many.test.ts)
  });

  it('the lock goes when the last tree fails rather than runs', async () => {
    const { host: destination, helper, a, b } = twoTrees('links-b3');
    a.crossing([7000]);
    await a.lock(helper);
    const restored = a.restored();
    b.leave(true);
    assert.equal(await restored, false);
    assert.equal(destination.ran('loopback-unlock').length, 1);
  });
});
