// A helper command whose SSH session closed without an exit status, the connection still up: it is
// not repeated (it may have changed the host), and its failure is a sentence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { FakeHost } from './fakes/transport';

describe('HostHelper: a session closed without an exit status', () => {
  it('is not repeated: its failure is a sentence', async () => {
    const host = new FakeHost('closing');
    host.answers.set('signal-tree', () => ({ code: null, signal: null, stdout: '', stderr: '' }));
    await assert.rejects(HostHelper.for(host).run(['signal-tree', 'KILL', '5']), /its SSH session closed without an exit status/);
    assert.equal(host.commands.filter((c) => c[0] === 'signal-tree').length, 1);
  });
});
