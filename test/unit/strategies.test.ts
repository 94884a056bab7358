// The strategies against fake neighbours: stop-and-copy and post-copy in order and on failure,
// and a pre-copy round whose page counts are missing (a failure, not an empty round).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriuEngine } from '../../src/checkpoint/criu';
import { CheckpointError } from '../../src/checkpoint/engine';
import { HostHelper } from '../../src/checkpoint/hostHelper';
import { ScriptedHost } from './fakes/sessionFakes';

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
