// migrateMany over fake hosts (real helper output captured from a `sleep`) and a recording
// checkpoint engine: PIDs inside another's tree move with it, every tree is migrated, the batch
// reports the slowest freeze and the sum of the bytes, and a failure is named per process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointError } from '../../src/checkpoint/engine';
import { createEngine, type Pool } from '../../src/migration/engine';
import { RecordingCheckpoint, ScriptedHost } from './fakes/sessionFakes';
import { fixture, PIDS } from './fixtures';

/** `ps` lines: 100 with its child 101, and 200 on its own. */
const PS = ['100 1 0 root 0.0 1800 S ? sleep 3600', '101 100 0 root 0.0 1800 S ? sleep 3600', '200 1 0 root 0.0 1800 S ? sleep 3600'].join('\n') + '\n';

function lab(options: { missing?: number[] } = {}) {
  const hosts = new Map(['lab-a', 'lab-b'].map((name) => [name, new ScriptedHost(name)]));
  for (const host of hosts.values()) {
    host.answers.caps = fixture('caps.txt');
    host.answers.ps = PS;
    host.respond = ([command, pid]) => {
      if (command !== 'inspect') return undefined;
      return options.missing?.includes(Number(pid)) ? 'exists=0\n' : fixture('inspect-sleep.txt').replaceAll(String(PIDS.sleep), pid);
    };
  }
  const pools: Pool[] = [];
  const newPool = (): Pool => {
    const pool: Pool = { get: async (name) => hosts.get(name)!, close: async () => undefined, onConnectionChange: () => () => undefined };
    pools.push(pool);
    return pool;
  };
  const checkpoint = new RecordingCheckpoint();
  const engine = createEngine({}, checkpoint, newPool);
  return { engine, checkpoint, a: hosts.get('lab-a')!, b: hosts.get('lab-b')!, pools };
}

/** The `nth` restore fails with `error`; the others restore. */
function failRestore(checkpoint: RecordingCheckpoint, nth: number, error: CheckpointError): void {
  let restores = 0;
  const restore = checkpoint.restore.bind(checkpoint);
  checkpoint.restore = async (...args) => {
    if (++restores === nth) throw error;
    return restore(...args);
  };
}

describe('migrateMany', () => {
  it('moves every tree once (a PID inside another requested tree goes with it), each after all are prepared', async () => {
    const { engine, checkpoint, a, pools } = lab();
    const result = await engine.migrateMany({ pids: [100, 101, 200, 200], from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(result.processes.map((p) => [p.sourcePid, p.ok, p.strategy]), [[100, true, 'stop-and-copy'], [200, true, 'stop-and-copy']]);
    assert.equal(result.error, undefined);
    assert.equal(result.freezeMs, Math.max(...result.processes.map((p) => p.freezeMs)));
    assert.equal(result.bytes, result.processes.reduce((sum, p) => sum + p.bytes, 0));
    assert.deepEqual(checkpoint.calls.filter((c) => c.startsWith('dump')).sort(), ['dump 100 on lab-a', 'dump 200 on lab-a']);
    // All are prepared (both page servers up) before the first freeze.
    assert.ok(checkpoint.calls.lastIndexOf('receive on lab-b') < checkpoint.calls.findIndex((c) => c.startsWith('dump')));
    assert.deepEqual(a.ran('signal-tree').filter((c) => c[1] === 'KILL').map((c) => c[2]).sort(), ['100', '200']);
    assert.equal(pools.length, 1, 'two migrations share one connection per host');
    await engine.dispose();
  });

  it('a tree that fails its preflight is named; the others still move', async () => {
    const { engine, checkpoint } = lab({ missing: [200] });
    const result = await engine.migrateMany({ pids: [100, 200], from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, false);
    assert.deepEqual(result.processes.map((p) => [p.sourcePid, p.ok]), [[100, true], [200, false]]);
    assert.match(result.error ?? '', /^Process 200: Process 200 does not exist on lab-a/);
    assert.deepEqual(checkpoint.calls.filter((c) => c.startsWith('dump')), ['dump 100 on lab-a']);
    await engine.dispose();
  });

  it('a tree that fails after its freeze rolls back alone: its source resumes, an unconnected one still moves', async () => {
    const { engine, checkpoint, a } = lab();
    failRestore(checkpoint, 2, new CheckpointError('CRIU failed to restore the process on lab-b: boom.', 'other', [], 'lab-b'));
    const result = await engine.migrateMany({ pids: [100, 200], from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, false);
    const [moved, failed] = [result.processes.filter((p) => p.ok), result.processes.filter((p) => !p.ok)];
    assert.equal(moved.length, 1);
    assert.equal(failed.length, 1);
    assert.ok(failed[0].rolledBack, 'its source runs again');
    assert.equal(result.error, `Process ${failed[0].sourcePid}: CRIU failed to restore the process on lab-b: boom.`);
    const signals = (signal: string) => a.ran('signal-tree').filter((c) => c[1] === signal).map((c) => Number(c[2]));
    assert.deepEqual(signals('KILL'), [moved[0].sourcePid]);
    assert.deepEqual(signals('CONT'), [failed[0].sourcePid]);
    await engine.dispose();
  });

  it('a batch member whose restore misses a file it opened after the preflight is tried once more', async () => {
    const { engine, checkpoint, a } = lab();
    failRestore(checkpoint, 1, new CheckpointError('The process has /tmp/ticks open, but that file does not exist on lab-b; copy it there (same path) and retry.', 'file-missing', [], 'lab-b'));
    const result = await engine.migrateMany({ pids: [100, 200], from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, true, result.error);
    assert.equal(checkpoint.calls.filter((c) => c.startsWith('dump')).length, 3);
    assert.equal(a.ran('signal-tree').filter((c) => c[1] === 'KILL').length, 2);
    await engine.dispose();
  });

  it('one process whose restore finds a file it opened after the preflight of another size is tried once more; a mode mismatch is not', async () => {
    for (const [kind, dumps] of [['file-size', 2], ['file-mode', 1]] as const) {
      const { engine, checkpoint } = lab();
      failRestore(checkpoint, 1, new CheckpointError('The file /tmp/ticks on lab-b differs.', kind, [], 'lab-b'));
      const result = await engine.migrate({ pid: 100, from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
      assert.equal(result.ok, kind === 'file-size', result.error);
      assert.equal(checkpoint.calls.filter((c) => c.startsWith('dump')).length, dumps, kind);
      await engine.dispose();
    }
  });

  it('one process whose restore misses a file it opened after the preflight is tried once more; the source resumed in between', async () => {
    const { engine, checkpoint, a } = lab();
    failRestore(checkpoint, 1, new CheckpointError('The process has /tmp/ticks open, but that file does not exist on lab-b; copy it there (same path) and retry.', 'file-missing', [], 'lab-b'));
    const result = await engine.migrate({ pid: 100, from: 'lab-a', to: 'lab-b', strategy: 'stop-and-copy' });
    assert.equal(result.ok, true, result.error);
    assert.equal(checkpoint.calls.filter((c) => c.startsWith('dump')).length, 2);
    const signals = a.ran('signal-tree').map((c) => c[1]);
    assert.deepEqual(signals, ['CONT', 'KILL'], 'resumed after the first try, killed only after the second restore');
    await engine.dispose();
  });
});
