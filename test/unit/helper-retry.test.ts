// A helper command whose SSH session closed without an exit status, the connection still up: a
// command that only looks is asked again once; one that changes the host is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { FakeHost } from './fakes/transport';

function hostClosingFirst(command: string): FakeHost {
  const host = new FakeHost(`closing-${command}`);
  let calls = 0;
  host.answers.set(command, () => (++calls === 1 ? { code: null, signal: null, stdout: '', stderr: '' } : `${command}=ok\n`));
  return host;
}

describe('HostHelper: a session closed without an exit status', () => {
  it('caps is asked again, once, and its answer is the second one', async () => {
    const host = hostClosingFirst('caps');
    assert.equal(await HostHelper.for(host).run(['caps']), 'caps=ok\n');
    assert.equal(host.commands.filter((c) => c[0] === 'caps').length, 2);
  });

  it('a command that changes the host (signal-tree) is not repeated: its failure is a sentence', async () => {
    const host = hostClosingFirst('signal-tree');
    await assert.rejects(HostHelper.for(host).run(['signal-tree', 'KILL', '5']), /its SSH session closed without an exit status/);
    assert.equal(host.commands.filter((c) => c[0] === 'signal-tree').length, 1);
  });
});
