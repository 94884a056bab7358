// HostGuard (src/migration/guard.ts): what it tells the host's `guard` to undo, and its release,
// over a fake host whose guard command records its stdin.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { HostGuard } from '../../src/migration/guard';
import { FakeHost, type FakeCommand } from './fakes/transport';

function guardOn(name: string, program?: (command: FakeCommand) => void) {
  const host = new FakeHost(name);
  if (program) host.programs.set('guard', program);
  const log: string[] = [];
  const guard = HostGuard.start(HostHelper.for(host), (line) => log.push(line));
  const command = host.spawned.find((c) => c.args[0] === 'guard')!;
  return { host, guard, command, log };
}

describe('HostGuard', () => {
  it('tells the host’s guard, a line each, what to undo, and ends it with done', async () => {
    const { guard, command, log } = guardOn('guard-a');
    assert.deepEqual(command.args, ['guard']);
    guard.frozen(4242, [4242, 4243]);
    guard.images('/var/tmp/process-migrator/img.1');
    guard.tmpfsFiles('/var/tmp/process-migrator/img.1');
    guard.restored(4242, 'procmig-7');
    guard.restored(4250);
    guard.loopbackLock('procmig-1-2');
    assert.equal(await guard.release(), true);
    assert.equal(
      command.told(),
      [
        'tree 4242 4242 4243',
        'images /var/tmp/process-migrator/img.1',
        'tmpfs /var/tmp/process-migrator/img.1',
        'restored 4242 procmig-7',
        'restored 4250',
        'lock procmig-1-2',
        'done',
        '',
      ].join('\n'),
    );
    assert.deepEqual(log, []);
  });

  it('after the release it tells nothing more, and a second release is a no-op', async () => {
    const { guard, command } = guardOn('guard-b');
    assert.equal(await guard.release(), true);
    guard.frozen(1000, [1000]);
    assert.equal(await guard.release(), true);
    assert.equal(command.told(), 'done\n');
  });

  it('a guard that ended otherwise than on done (it may have undone what it was told) is logged, and release says so', async () => {
    const failing = guardOn('guard-c', (c) => c.stdin.on('finish', () => c.end(3)));
    assert.equal(await failing.guard.release(), false);
    assert.deepEqual(failing.log, ['the guard on guard-c ended with exit 3']);

    const lost = guardOn('guard-d', (c) => c.stdin.on('finish', () => c.end(0, true)));
    assert.equal(await lost.guard.release(), false);
    assert.deepEqual(lost.log, ['the guard on guard-d ended with a lost connection']);
  });

  it('a stdin that fails (the connection dropped: what the guard is for) is no error here', async () => {
    const { guard, command } = guardOn('guard-e', (c) => c.stdin.on('finish', () => c.end(0, true)));
    command.stdin.emit('error', new Error('channel closed'));
    guard.images('/var/tmp/x');
    assert.equal(await guard.release(), false);
  });
});
