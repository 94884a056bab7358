// parseProcessList over real `procmig-helper.sh ps` output (captured in a fresh PID namespace,
// so it lists only the processes started for it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKernelThread, parseProcessList } from '../../src/helper/processList';
import { fixture } from './fixtures';

describe('parseProcessList', () => {
  const list = parseProcessList(fixture('ps.txt'));
  const byPid = new Map(list.map((p) => [p.pid, p]));

  it('reads every record of the first section', () => {
    assert.deepEqual(list.map((p) => p.pid), [1, 3, 5, 8, 9, 13, 15, 16, 17, 18]);
  });

  it('reads the columns of a record', () => {
    assert.deepEqual(byPid.get(3), {
      pid: 3, ppid: 1, uid: 0, user: 'root', cpu: 0, rssKiB: 1804, state: 'Ss', tty: undefined, name: 'sleep', command: 'sleep 3611',
    });
  });

  it('takes the name from the second section, spaces and colons included', () => {
    assert.equal(byPid.get(5)?.name, 'dev server');
    assert.equal(byPid.get(5)?.command, '/usr/bin/python3 -c import time open("/proc/self/comm", "w").write("dev server") time.sleep(3600)');
    assert.equal(byPid.get(8)?.name, 'tmux: server');
  });

  it('falls back to the command basename for a PID gone from the second section', () => {
    // ps ran twice: its own PID differs between the sections.
    assert.equal(byPid.get(18)?.name, 'ps');
    assert.match(byPid.get(18)!.command, /^ps -eo pid=,ppid=/);
  });

  it('reads terminals and multi-letter states', () => {
    assert.equal(byPid.get(13)?.tty, 'pts/1');
    assert.equal(byPid.get(13)?.state, 'S+');
    assert.equal(byPid.get(13)?.command, 'sh -c sleep 3612 & sleep 3613; wait');
    assert.equal(byPid.get(1)?.tty, undefined);
  });

  it('reads kernel threads, long user names and fractional CPU (lines from this host’s full `ps`)', () => {
    const text = [
      '    2     0     0 root                              0.0     0 S    ?        [kthreadd]',
      '   14     2     0 root                              0.0     0 S    ?        [ksoftirqd/0]',
      '26542 26459  1000 a-very-long-user-name-for-ps      21.6 499044 Sl   ?        /usr/lib/chromium/chromium --type=renderer',
      '--',
      '    2 kthreadd',
      '   14 ksoftirqd/0',
      '26542 chromium',
      '',
    ].join('\n');
    const [kthreadd, ksoftirqd, renderer] = parseProcessList(text);
    assert.equal(kthreadd.command, '[kthreadd]');
    assert.equal(isKernelThread(kthreadd), true);
    assert.equal(isKernelThread(ksoftirqd), true);
    assert.equal(renderer.user, 'a-very-long-user-name-for-ps');
    assert.equal(renderer.uid, 1000);
    assert.equal(renderer.cpu, 21.6);
    assert.equal(renderer.rssKiB, 499044);
    assert.equal(isKernelThread(renderer), false);
  });

  it('is not fooled by empty output', () => {
    assert.deepEqual(parseProcessList(''), []);
    assert.deepEqual(parseProcessList('--\n'), []);
  });

  it('does not take user processes for kernel threads', () => {
    assert.ok(list.every((p) => !isKernelThread(p)));
  });

  it('takes kthreadd and its children for kernel threads, not a user process that ps shows in brackets', () => {
    // ps prints `[comm]` for any process whose command line is empty, not only kernel threads.
    const [emptyArgv] = parseProcessList('  901     1  1000 ada        0.0   812 S    ?        [worker]\n--\n  901 worker\n');
    assert.equal(emptyArgv.command, '[worker]');
    assert.equal(isKernelThread(emptyArgv), false);
    assert.equal(isKernelThread({ ...emptyArgv, pid: 2, ppid: 0 }), true);
    assert.equal(isKernelThread({ ...emptyArgv, ppid: 2 }), true);
  });
});
