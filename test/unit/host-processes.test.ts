// What the UI asks of a process through the engine (hostProcesses.ts), against the real helper on
// this machine: who listens on a port, whether a process is still there, who traces it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { listenerOf, processState, stopTracer, tracerOf } from '../../src/migration/hostProcesses';
import { LocalHost } from '../../src/transport/localHost';

const helper = HostHelper.for(new LocalHost());

describe('host processes through the helper (this machine)', () => {
  // A listener on a port of its own, printed once it listens.
  const child = spawn(process.execPath, ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = once(child.stdout, 'data').then(([d]) => Number(String(d).trim()));
  after(() => child.kill('SIGKILL'));

  it('names the process listening on a port, and none for a port nobody listens on', async () => {
    assert.equal(await listenerOf(helper, await port), child.pid);
    const free = Number((await helper.run(['free-port'])).trim());
    assert.equal(await listenerOf(helper, free), undefined);
  });

  it('says a process runs, and is gone once it ended', async () => {
    assert.equal(await processState(helper, child.pid!), 'running');
    const ended = spawn('true');
    await once(ended, 'exit');
    assert.equal(await processState(helper, ended.pid!), 'gone');
  });

  it('finds no tracer on an untraced process', async () => {
    assert.equal(await tracerOf(helper, child.pid!), undefined);
  });

  it('names the tracer of a traced process, and stopping it (untrace) leaves the process running', { skip: !existsSync('/usr/bin/strace') && 'no strace here' }, async () => {
    const tracee = spawn('sleep', ['30'], { stdio: 'ignore' });
    const strace = spawn('/usr/bin/strace', ['-p', String(tracee.pid)], { stdio: 'ignore' });
    try {
      let traced;
      for (let i = 0; i < 100 && !(traced = await tracerOf(helper, tracee.pid!)); i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(traced, { host: 'local', pid: tracee.pid, name: 'sleep', tracerPid: strace.pid, tracerName: 'strace' });
      await stopTracer(helper, traced!);
      assert.equal(await tracerOf(helper, tracee.pid!), undefined);
      assert.equal(await processState(helper, tracee.pid!), 'running');
    } finally {
      strace.kill('SIGKILL');
      tracee.kill('SIGKILL');
    }
  });
});
