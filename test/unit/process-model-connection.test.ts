// The Processes view's model when a host's connection drops and comes back (a fake engine that
// reports connection changes as the real one's HostPool does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectionChange, Engine, HostReport, ProcessInfo } from '../../src/migration/api';
import { ProcessModel } from '../../src/ui/view/processModel';

const sleep: ProcessInfo = { pid: 10, ppid: 1, uid: 0, user: 'root', cpu: 0, rssKiB: 1024, name: 'sleep', command: 'sleep 600', state: 'S' };

class ConnectionsEngine implements Pick<Engine, 'listProcesses' | 'checkHost' | 'onConnectionChange'> {
  readonly listeners = new Set<(change: ConnectionChange) => void>();
  lists = 0;
  down = false;
  async listProcesses(host: string): Promise<ProcessInfo[]> {
    this.lists++;
    if (this.down) throw new Error(`Cannot connect to ${host}: connection refused; is sshd running there?`);
    this.change({ host, connected: true }); // the pool reconnects on the next call
    return [sleep];
  }
  async checkHost(host: string): Promise<HostReport> {
    return { host, reachable: true, problems: [] };
  }
  onConnectionChange(listener: (change: ConnectionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  change(change: ConnectionChange): void {
    for (const l of this.listeners) l(change);
  }
}

function setup() {
  const engine = new ConnectionsEngine();
  const model = new ProcessModel({ engine: engine as unknown as Engine, listHosts: () => ['box'], myUid: 0 });
  const fired: (string | undefined)[] = [];
  model.onDidChange((h) => fired.push(h));
  return { engine, model, fired };
}

describe('ProcessModel: connection state', () => {
  it('marks a dropped host disconnected with its reason, keeping the processes last seen', async () => {
    const { engine, model, fired } = setup();
    await model.loadProcesses('box');
    fired.length = 0;
    engine.change({ host: 'box', connected: false, reason: 'read ECONNRESET' });
    const state = model.host('box')!;
    assert.equal(state.reachability, 'disconnected');
    assert.equal(state.dropped?.reason, 'read ECONNRESET');
    assert.deepEqual(state.processes, [sleep]);
    assert.deepEqual(fired, ['box'], 'the host row is refreshed');
    // Showing it again does not reconnect: nothing listed since.
    assert.deepEqual(await model.loadProcesses('box'), [sleep]);
    assert.equal(engine.lists, 1);
  });

  it('reconnects on the next refresh: reachable again, or unreachable with the sentence', async () => {
    const { engine, model } = setup();
    await model.loadProcesses('box');
    engine.change({ host: 'box', connected: false });
    engine.down = true;
    await model.refresh();
    assert.equal(model.host('box')!.reachability, 'unreachable');
    assert.match(model.host('box')!.error!, /connection refused/);
    assert.equal(model.host('box')!.dropped, undefined);
    engine.down = false;
    await model.refresh();
    assert.equal(model.host('box')!.reachability, 'reachable');
    assert.equal(engine.lists, 3);
  });

  it('a connection opened by another action (a migration, a check) clears the mark', async () => {
    const { engine, model } = setup();
    await model.loadProcesses('box');
    engine.change({ host: 'box', connected: false });
    engine.change({ host: 'box', connected: true });
    assert.equal(model.host('box')!.reachability, 'reachable');
    assert.equal(model.host('box')!.dropped, undefined);
    engine.change({ host: 'box', connected: false });
    await model.check('box');
    assert.equal(model.host('box')!.reachability, 'reachable');
  });

  it('ignores hosts it never showed connected, and stops listening when disposed', async () => {
    const { engine, model, fired } = setup();
    engine.change({ host: 'box', connected: false });
    engine.change({ host: 'elsewhere', connected: false });
    assert.equal(model.host('box')?.reachability ?? 'unknown', 'unknown');
    assert.deepEqual(fired, []);
    model.dispose();
    assert.equal(engine.listeners.size, 0);
  });
});
