// The strategies against fake neighbours: stop-and-copy and post-copy in order and on failure,
// and a pre-copy round whose page counts are missing (a failure, not an empty round).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriuEngine } from '../../src/checkpoint/criu';
import { CheckpointError } from '../../src/checkpoint/engine';
import { HostHelper } from '../../src/helper/hostHelper';
import { chooseMemoryWay } from '../../src/migration/strategy';
import { fakeSession, ScriptedHost } from './fakes/sessionFakes';

const PID = 4242;

describe('pre-copy round counts', () => {
  it('a pre-dump whose output holds no page counts fails with one sentence rather than counting 0 pages (which read as converged)', async () => {
    const host = new ScriptedHost('lab-a');
    host.answers['pre-dump'] = 'pid=4242\n';
    const engine = new CriuEngine();
    const dir = '/var/tmp/process-migrator/img.1';
    await assert.rejects(engine.preDump(HostHelper.for(host), PID, `${dir}/1`, engine.plan({}), `${dir}/pages.sock`), (err: unknown) => {
      assert.ok(err instanceof CheckpointError);
      assert.equal(err.host, 'lab-a');
      assert.equal(
        err.message,
        "CRIU's pre-dump of process 4242 on lab-a reported no page counts, so pre-copy cannot tell when to stop its rounds; the process keeps running on lab-a: migrate it with stop-and-copy or post-copy.",
      );
      return true;
    });
    host.answers['pre-dump'] = 'pages_scanned=10\npages_skipped=0\npages_written=0\npage_size=4096\n';
    assert.equal((await engine.preDump(HostHelper.for(host), PID, `${dir}/2`, engine.plan({}), `${dir}/pages.sock`)).pagesWritten, 0, 'a counted empty round is fine');
  });
});

describe('stop-and-copy', () => {
  it('prepares the destination before the freeze, dumps, sends the rest, restores, verifies, and only then kills the source; the images go once restored', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'stop-and-copy');
    const result = await s.migrate();
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(s.engine.calls, ['receive on lab-b', 'dump 4242 on lab-a', 'restore on lab-b']);
    assert.equal(result.destinationPid, 5151);
    assert.equal(result.transfer, "memory over this machine's SSH connection to lab-b");
    assert.deepEqual(s.progress.slice(2), ['connect', 'connect', 'dump', 'transfer', 'restore', 'verify', 'cleanup']);
    assert.equal(s.a.signals('KILL'), 1, 'the source goes once the copy runs');
    assert.equal(s.a.signals('CONT') + s.b.signals('KILL'), 0);
    assert.deepEqual(s.b.ran('verify'), [['verify', '5151']]);
    assert.equal(s.b.ran('tar-in').length, 1);
    assert.deepEqual(
      [s.a, s.b].map((h) => h.ran('rmimages').map((c) => c.length)),
      [[3, 2], [3, 2]],
      'the memory goes once restored (--memory), the directory with its list of placed tmpfs files after the commit',
    );
    assert.ok(result.freezeMs >= 0 && result.phases.dump !== undefined && result.phases.restore !== undefined);
    const order = s.b.commands.map((c) => c[0]);
    assert.ok(order.indexOf('rmimages') > order.indexOf('restore'), 'the images go once the process was restored from them');
  });

  it('a restored copy that does not run: it is stopped on the destination and the source resumes', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'stop-and-copy');
    s.b.state = 'exited';
    const result = await s.migrate();
    assert.equal(result.ok, false);
    assert.equal(result.error, 'The process was restored on lab-b but is exited there right after; it keeps running on lab-a.');
    assert.equal(result.rolledBack, true);
    assert.deepEqual(s.b.ran('signal-tree'), [['signal-tree', 'KILL', '5151']]);
    assert.equal(s.a.signals('CONT'), 1);
    assert.equal(s.a.signals('KILL'), 0);
    assert.deepEqual(s.engine.stopped, ['page server']);
  });
});

describe('stop-and-copy straight into the process', () => {
  const big = 2 << 20; // KiB: 2 GiB

  it('is taken from 1 GiB, where lazy pages work, for a process off a terminal that runs', () => {
    const input = { rssKiB: 1 << 20, terminal: false, stoppedBefore: false };
    assert.ok(chooseMemoryWay(input));
    assert.equal(chooseMemoryWay({ ...input, rssKiB: (1 << 20) - 1 }), undefined, 'smaller: the image file is as fast');
    assert.equal(chooseMemoryWay({ ...input, rssKiB: NaN }), undefined, 'unknown size');
    assert.equal(chooseMemoryWay({ ...input, postCopyProblem: 'no uffd' }), undefined);
    assert.equal(chooseMemoryWay({ ...input, terminal: true }), undefined);
    assert.equal(chooseMemoryWay({ ...input, stoppedBefore: true }), undefined);
  });

  it('a large process: its memory goes into the restored copy, held stopped until the last page; then it is resumed and verified, and the source goes', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'stop-and-copy', big);
    const result = await s.migrate();
    assert.equal(result.ok, true, result.error);
    assert.equal(result.strategy, 'stop-and-copy');
    assert.deepEqual(s.engine.calls, ['lazy pages on lab-b', 'dump lazily 4242 on lab-a', 'lazy pages start', 'restore on lab-b lazily, left stopped']);
    assert.deepEqual(s.progress.slice(2), ['connect', 'connect', 'dump', 'transfer', 'restore', 'memory', 'verify', 'cleanup']);
    assert.equal(typeof result.phases.memory, 'number');
    const option = result.options.find((o) => o.option === 'restore --lazy-pages --leave-stopped');
    assert.match(option?.reason ?? '', /^the process holds 2048 MiB: its memory goes straight into the restored copy, which stays stopped until the last page arrived/);
    const order = s.b.commands.map((c) => c.join(' '));
    assert.ok(order.indexOf('signal-tree CONT 5151') >= 0 && order.indexOf('signal-tree CONT 5151') < order.indexOf('verify 5151'), 'resumed, then verified');
    assert.equal(s.a.signals('KILL'), 1);
    assert.equal(s.a.signals('CONT'), 0);
  });

  it('pages that fail on the way: the held copy never ran and is stopped, the source resumes, and the sentence says nothing was lost', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'stop-and-copy', big);
    s.engine.failing.pages = new Error('The page server on lab-a stopped.');
    const result = await s.migrate();
    assert.equal(result.ok, false);
    assert.equal(
      result.error,
      'Moving the memory from lab-a to lab-b failed (The page server on lab-a stopped); the copy there had not run yet, so the process keeps running on lab-a with nothing lost.',
    );
    assert.deepEqual(s.b.ran('signal-tree'), [['signal-tree', 'KILL', '5151']], 'the held copy is stopped, never resumed');
    assert.equal(s.a.signals('CONT'), 1);
    assert.equal(s.a.signals('KILL'), 0);
    assert.deepEqual(s.engine.stopped, ['page source', 'lazy pages']);
  });
});

describe('post-copy', () => {
  it('the lazy-pages daemon listens before the freeze; the copy runs before its memory moved; the source goes only after the last page', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'post-copy');
    const result = await s.migrate();
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(s.engine.calls, ['lazy pages on lab-b', 'dump lazily 4242 on lab-a', 'lazy pages start', 'restore on lab-b lazily']);
    assert.deepEqual(s.progress.slice(2), ['connect', 'connect', 'dump', 'transfer', 'restore', 'verify', 'pages', 'cleanup']);
    assert.equal(typeof result.phases.pages, 'number');
    assert.equal(s.a.signals('KILL'), 1);
    assert.deepEqual([s.a, s.b].map((h) => h.ran('rmimages').length), [1, 1]);
  });

  it('pages that fail to move after the copy resumed: the copy is stopped, the source resumes as frozen, and the sentence says what was lost', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'post-copy');
    s.engine.failing.pages = new Error('The page server on lab-a stopped.');
    const result = await s.migrate();
    assert.equal(result.ok, false);
    assert.equal(
      result.error,
      'Moving the memory from lab-a failed after the process had resumed on lab-b (The page server on lab-a stopped); it was resumed on lab-a as it was when frozen, and what it did on lab-b since is lost.',
    );
    assert.equal(result.rolledBack, true);
    assert.deepEqual(s.b.ran('signal-tree'), [['signal-tree', 'KILL', '5151']], 'the copy on the destination is stopped');
    assert.equal(s.a.signals('CONT'), 1, 'the source resumes');
    assert.equal(s.a.signals('KILL'), 0);
    assert.deepEqual(s.engine.stopped, ['page source', 'lazy pages']);
    assert.deepEqual([s.a, s.b].map((h) => h.ran('rmimages').length), [1, 1]);
  });

  it('a failing lazy dump: nothing was restored, the source resumes', async () => {
    const s = await fakeSession('lab-a', 'lab-b', 'post-copy');
    s.engine.failing.dumpLazily = new CheckpointError('CRIU failed to checkpoint process 4242 on lab-a: boom.', 'other', [], 'lab-a');
    const result = await s.migrate();
    assert.equal(result.error, 'CRIU failed to checkpoint process 4242 on lab-a: boom.');
    assert.equal(result.rolledBack, true);
    assert.ok(!s.engine.calls.some((c) => c.startsWith('restore')));
    assert.equal(s.a.signals('CONT'), 1);
    assert.deepEqual(s.engine.stopped, ['lazy pages']);
  });
});
