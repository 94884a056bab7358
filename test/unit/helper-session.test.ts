// The helper's session (remote-helper/parts/97-serve.sh and src/helper/helperSession.ts): the
// framing on its own, then the built helper's `serve` run here by sh, as a host runs it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HelperSession, ReplyReader } from '../../src/helper/helperSession';
import { remoteHelperFile } from '../../src/helper/hostHelper';
import type { ExecResult } from '../../src/transport/host';
import { LocalHost } from '../../src/transport/localHost';

describe('ReplyReader', () => {
  const read = (chunks: Buffer[]) => {
    const reader = new ReplyReader();
    const greetings: string[] = [];
    const replies: [number, ExecResult][] = [];
    reader.onGreeting = (l) => greetings.push(l);
    reader.onReply = (id, r) => replies.push([id, r]);
    for (const c of chunks) reader.push(c);
    return { greetings, replies };
  };
  const stream = Buffer.from('ready 1\nreply 2 0 6 0\nlab-a\nreply 1 3 0 5\noops\n' + 'reply 3 0 4 1\n\u00e9\n\n!');

  it('reads the greeting, then each reply with its stdout and stderr bytes, in the order they end', () => {
    const { greetings, replies } = read([stream]);
    assert.deepEqual(greetings, ['ready 1']);
    assert.deepEqual(replies, [
      [2, { code: 0, stdout: 'lab-a\n', stderr: '' }],
      [1, { code: 3, stdout: '', stderr: 'oops\n' }],
      [3, { code: 0, stdout: '\u00e9\n\n', stderr: '!' }],
    ]);
  });
  it('whatever the chunks: one byte at a time reads the same (a multi-byte character split too)', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    assert.deepEqual(read(bytes), read([stream]));
  });
});

describe('the helper session (serve), run here', () => {
  const start = async () => {
    const started = await HelperSession.start(new LocalHost().spawn(['sh', remoteHelperFile('procmig-helper.sh'), 'serve']), 'MISSING');
    assert.ok('session' in started, JSON.stringify(started));
    return started.session;
  };

  it('runs commands concurrently, each with its exit code, stdout and stderr, and its own stdin', async () => {
    const session = await start();
    const input = `${remoteHelperFile('procmig-helper.sh')}\n/no/such/file\n`;
    const [version, files, unknown, state] = await Promise.all([
      session.exec(['version']),
      session.exec(['stat-files'], input),
      session.exec(['no-such-command', "it's", 'a b']),
      session.exec(['state', String(process.pid)]),
    ]);
    assert.deepEqual(version, { code: 0, stdout: 'helper_version=1\n', stderr: '' });
    assert.match(files.stdout, /procmig-helper\.sh\t\d+\n\/no\/such\/file\t-\n$/);
    assert.deepEqual(unknown, { code: 1, stdout: '', stderr: "procmig-helper: unknown command 'no-such-command'\n" });
    assert.deepEqual(state, { code: 0, stdout: 'running\n', stderr: '' });
    session.close();
  });

  it('a stdin larger than one `in` line arrives whole', async () => {
    const session = await start();
    const lines = Array.from({ length: 6000 }, (_, i) => `/nonexistent/${i}/${'x'.repeat(20)}`);
    const r = await session.exec(['stat-files'], `${lines.join('\n')}\n`);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, lines.map((l) => `${l}\t-\n`).join(''));
    session.close();
  });

  it('when the channel ends, a command still waiting resolves without an exit status', async () => {
    const session = await start();
    const waiting = session.exec(['verify', String(process.pid)]); // ~100 ms on the host
    session.close(); // the helper stops reading; `verify` finishes, its reply has no reader
    const r = await waiting;
    assert.equal(session.alive, false);
    assert.ok(r.code === 0 || r.code === null, JSON.stringify(r));
  });

  it('a missing helper is told by the launcher sentinel, not taken for a failure', async () => {
    const started = await HelperSession.start(new LocalHost().spawn(['sh', '-c', 'echo MISSING; exit 97']), 'MISSING');
    assert.deepEqual(started, { missing: true });
    const failed = await HelperSession.start(new LocalHost().spawn(['sh', '-c', 'echo "no serve here" >&2; exit 1']), 'MISSING');
    assert.deepEqual(failed, { failed: 'no serve here' });
  });
});
