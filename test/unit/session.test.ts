// A migration session's failure path (fail()): one sentence, the rollback newest first, the
// source confirmed running again, and the image directories it could not delete named by path
// and host, whatever the host's name holds (`user@host:2222`, IPv6).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointError } from '../../src/checkpoint/engine';
import { CancelledError } from '../../src/migration/errors';
import { fakeSession } from './fakes/sessionFakes';

describe('MigrationSession.fail()', () => {
  it('names the image directories it could not delete by path and host, for user@host:port and IPv6 names', async () => {
    for (const [from, to] of [['root@lab-a:2222', 'root@lab-b:2222'], ['[fd00::1]:22', '[fd00::2]:22']]) {
      const s = await fakeSession(from, to);
      s.engine.failing.restore = new CheckpointError(`CRIU failed to restore the process on ${to}: boom.`, 'other', ['Error (criu): boom'], to);
      s.b.failing.rmimages = 'rm: cannot remove: Device or resource busy';
      const result = await s.migrate();
      assert.equal(result.ok, false);
      assert.equal(
        result.error,
        `CRIU failed to restore the process on ${to}: boom. Checkpoint images could not be deleted (/var/tmp/process-migrator/img.1 on ${to}); ` +
          'delete them by hand, or the next migration there removes them after 6 hours.',
      );
      assert.deepEqual(result.logs, { destination: 'Error (criu): boom' });
      assert.equal(result.rolledBack, true);
      assert.ok(s.log.some((l) => l.startsWith(`rollback: remove /var/tmp/process-migrator/img.1 on ${to}: `)));
    }
  });

  it('after the freeze: resumes the source, stops the page server, removes both image directories, and confirms the source runs', async () => {
    const s = await fakeSession('lab-a', 'lab-b');
    s.engine.failing.dump = new CheckpointError('CRIU failed to checkpoint process 4242 on lab-a: boom.', 'other', ['Error: boom'], 'lab-a');
    const result = await s.migrate();
    assert.equal(result.ok, false);
    assert.equal(result.error, 'CRIU failed to checkpoint process 4242 on lab-a: boom.');
    assert.deepEqual(result.logs, { source: 'Error: boom' });
    assert.equal(result.rolledBack, true);
    assert.equal(s.a.signals('CONT'), 1, 'the source resumes');
    assert.equal(s.a.signals('KILL') + s.b.signals('KILL'), 0, 'nothing is killed');
    assert.deepEqual(s.engine.stopped, ['page server']);
    assert.deepEqual([s.a, s.b].map((h) => h.ran('rmimages').length), [1, 1]);
    assert.equal(s.a.ran('state').length, 1, 'whether the source runs again is checked');
    assert.ok(result.freezeMs >= 0 && result.phases.dump !== undefined);
  });

  it('after the freeze, a source that does not run again is named', async () => {
    const s = await fakeSession('lab-a', 'lab-b');
    s.engine.failing.dump = new Error('The dump failed.');
    s.a.state = 'stopped';
    const result = await s.migrate();
    assert.equal(result.rolledBack, false);
    assert.equal(result.error, 'The dump failed. The process could not be confirmed running on lab-a (stopped); check it there.');
  });

  it('cancelled before the freeze: one sentence, nothing to resume, the source is not asked about', async () => {
    const s = await fakeSession('lab-a', 'lab-b');
    await s.session.fail(new CancelledError());
    const result = s.session.finish();
    assert.equal(result.error, 'Cancelled; the process keeps running on lab-a.');
    assert.equal(result.rolledBack, true);
    assert.equal(result.freezeMs, 0);
    assert.equal(s.a.ran('state').length + s.a.ran('signal-tree').length, 0);
  });
});
