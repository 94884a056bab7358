// A zombie child is often one for a moment only (a shell loop's command that just exited, until
// the shell reaps it): the preflight looks again before it refuses the tree.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine, type Pool } from '../../src/migration/engine';
import { RecordingCheckpoint, ScriptedHost } from './fakes/sessionFakes';
import { fixture, PIDS } from './fixtures';

const PID = PIDS.sleep;
/** The sleep's inspection with a child `PID + 1` in state `state`. */
const withChild = (state: string) => `${fixture('inspect-sleep.txt')}task\t${PID + 1}\t${state}\t${PID}\t${PID}\t${PID}\t0\t4194304\t0\t0\t0\n`;

function lab(zombieLooks: number) {
  const hosts = new Map(['lab-a', 'lab-b'].map((name) => [name, new ScriptedHost(name)]));
  let looks = 0;
  for (const host of hosts.values()) {
    host.answers.caps = fixture('caps.txt');
    host.respond = ([command]) => (command === 'inspect' ? withChild(++looks <= zombieLooks ? 'Z' : 'S') : undefined);
  }
  const pool: Pool = { get: async (name) => hosts.get(name)!, close: async () => undefined, onConnectionChange: () => () => undefined };
  const engine = createEngine({}, new RecordingCheckpoint(), () => pool);
  return { engine, inspected: () => hosts.get('lab-a')!.ran('inspect').length };
}

describe('preflight: a zombie child', () => {
  it('reaped a moment later: the tree moves', async () => {
    const { engine, inspected } = lab(2);
    const result = await engine.migrate({ pid: PID, from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, true, result.error);
    assert.equal(inspected(), 3);
    await engine.dispose();
  });

  it('still a zombie after a few looks: refused with one sentence, nothing frozen', async () => {
    const { engine, inspected } = lab(Infinity);
    const result = await engine.migrate({ pid: PID, from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /a zombie/);
    assert.equal(result.freezeMs, 0);
    assert.equal(inspected(), 4);
    await engine.dispose();
  });
});
