// The host pools of a batch (withBatchPools in src/migration/engine.ts): the extra pools a batch
// opens for its connections are closed when it ends, however it ends; the engine's own is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withBatchPools } from '../../src/migration/engine';

class Pool {
  closed = 0;
  constructor(readonly name: string) {}
  async close() {
    this.closed++;
  }
}

function opener() {
  const opened: Pool[] = [];
  return { opened, open: () => opened[opened.push(new Pool(`extra-${opened.length + 1}`)) - 1] };
}

describe('withBatchPools', () => {
  it('gives the batch the engine’s pool and count − 1 extra ones, live while it runs, closed after', async () => {
    const main = new Pool('main');
    const { opened, open } = opener();
    const live = new Set<Pool>();
    const names = await withBatchPools(main, 3, open, live, async (pools) => {
      assert.deepEqual([...live], opened);
      assert.ok(opened.every((p) => p.closed === 0));
      return pools.map((p) => p.name);
    });
    assert.deepEqual(names, ['main', 'extra-1', 'extra-2']);
    assert.deepEqual(opened.map((p) => p.closed), [1, 1]);
    assert.equal(main.closed, 0);
    assert.equal(live.size, 0);
  });

  it('closes the extra pools when the batch fails too, and opens none for one connection', async () => {
    const main = new Pool('main');
    const { opened, open } = opener();
    const live = new Set<Pool>();
    await assert.rejects(withBatchPools(main, 2, open, live, async () => { throw new Error('lost'); }), /lost/);
    assert.deepEqual(opened.map((p) => p.closed), [1]);
    assert.equal(live.size, 0);

    assert.deepEqual(await withBatchPools(main, 1, open, live, async (pools) => pools.length), 1);
    assert.equal(opened.length, 1);
    assert.equal(main.closed, 0);
  });
});
