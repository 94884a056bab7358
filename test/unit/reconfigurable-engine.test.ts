// ReconfigurableEngine (src/ui/engineHost.ts): a reconfigure disposes the engine it replaces, and
// keeps track of that disposal only until it ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReconfigurableEngine } from '../../src/ui/hosts/engineHost';
import { FakeEngine } from './fakes/migration';

/** The disposals ReconfigurableEngine still waits for (a private field: it has no other trace). */
const retiring = (engine: ReconfigurableEngine) => (engine as unknown as { retiring: Set<Promise<void>> }).retiring.size;

describe('ReconfigurableEngine', () => {
  it('disposes each replaced engine and forgets its disposal once it ended, failed or not', async () => {
    const made: FakeEngine[] = [];
    const engine = new ReconfigurableEngine(() => made[made.push(new FakeEngine()) - 1], {});
    for (let i = 0; i < 50; i++) engine.reconfigure({ sshConfigFile: `/config-${i}` });
    assert.equal(made.length, 51);
    assert.deepEqual(made.map((e) => e.disposals), [...Array(50).fill(1), 0]);
    assert.equal(retiring(engine), 50);

    made.slice(0, 25).forEach((e) => e.disposed());
    made.slice(25, 50).forEach((e) => e.disposed(new Error('the connection was gone')));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(retiring(engine), 0);
  });

  it('dispose waits for the current engine and the disposals still under way', async () => {
    const made: FakeEngine[] = [];
    const engine = new ReconfigurableEngine(() => made[made.push(new FakeEngine()) - 1], {});
    engine.reconfigure({});
    let done = false;
    const disposing = engine.dispose().then(() => (done = true));
    made[1].disposed();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'dispose ended before the replaced engine was disposed');
    made[0].disposed();
    await disposing;
    assert.equal(retiring(engine), 0);
  });
});
