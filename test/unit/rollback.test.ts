// Rollback: undo steps newest first, every one of them, once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rollback } from '../../src/migration/rollback';

describe('Rollback', () => {
  it('runs the steps newest first', async () => {
    const rb = new Rollback();
    const ran: string[] = [];
    for (const what of ['create images', 'start page server', 'freeze source']) {
      rb.add(what, async () => void ran.push(what));
    }
    assert.deepEqual(await rb.run(), []);
    assert.deepEqual(ran, ['freeze source', 'start page server', 'create images']);
  });

  it('waits for each step before the next', async () => {
    const rb = new Rollback();
    const ran: string[] = [];
    rb.add('first', async () => void ran.push('first'));
    rb.add('slow', () => new Promise((resolve) => setTimeout(() => resolve(ran.push('slow')), 20)));
    await rb.run();
    assert.deepEqual(ran, ['slow', 'first']);
  });

  it('a failing step does not stop the others; failures come back as lines', async () => {
    const rb = new Rollback();
    const ran: string[] = [];
    rb.add('remove images on lab-b', async () => void ran.push('a'));
    rb.add('stop page server', async () => {
      throw new Error('connection lost');
    });
    rb.add('thaw source', async () => {
      ran.push('c');
      throw 'not an Error'; // eslint-disable-line no-throw-literal
    });
    rb.add('kill restored copy', async () => void ran.push('d'));
    assert.deepEqual(await rb.run(), ['thaw source: not an Error', 'stop page server: connection lost']);
    assert.deepEqual(ran, ['d', 'c', 'a']);
  });

  it('runs each step only once', async () => {
    const rb = new Rollback();
    let n = 0;
    rb.add('count', async () => void n++);
    await rb.run();
    await rb.run();
    assert.equal(n, 1);
  });

  it('clear() forgets the steps, and later ones still run', async () => {
    const rb = new Rollback();
    let undone = false;
    rb.add('undo success', async () => void (undone = true));
    rb.clear();
    assert.deepEqual(await rb.run(), []);
    assert.equal(undone, false);
    let later = false;
    rb.add('later', async () => void (later = true));
    await rb.run();
    assert.equal(later, true);
  });
});
