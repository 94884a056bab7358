// The helper session (HostHelper over the built helper's `serve`), run by sh here: a LocalHost
// that says it is remote, so HostHelper uses the session as it does over SSH, with the helper
// installed into a scratch cache.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import type { RunningCommand } from '../../src/transport/host';
import { LocalHost } from '../../src/transport/localHost';

const scratch = mkdtempSync(path.join(tmpdir(), 'helper-session-'));
const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, PROCMIG_IMAGES_DIR: process.env.PROCMIG_IMAGES_DIR };
before(() => {
  process.env.XDG_CACHE_HOME = path.join(scratch, 'cache');
  process.env.PROCMIG_IMAGES_DIR = path.join(scratch, 'images');
});
after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(scratch, { recursive: true, force: true });
});

const opened: LocalHost[] = [];
after(() => {
  for (const host of opened) HostHelper.for(host).closeSessions();
});

/** A LocalHost that passes for a remote one, and records the channels it opened. */
function remoteLikeHost(): { host: LocalHost; execs: string[][]; sessions: RunningCommand[] } {
  const host = new LocalHost();
  opened.push(host);
  Object.defineProperty(host, 'isLocal', { value: false });
  const execs: string[][] = [];
  const sessions: RunningCommand[] = [];
  const exec = host.exec.bind(host);
  const spawn = host.spawn.bind(host);
  host.exec = (argv, options) => {
    execs.push([...argv]);
    return exec(argv, options);
  };
  host.spawn = (argv, options) => {
    const command = spawn(argv, options);
    if (argv.at(-1) === 'serve') sessions.push(command);
    return command;
  };
  return { host, execs, sessions };
}

describe('HostHelper: the helper session', () => {
  it('installs the helper, then runs commands one after another on one channel', async () => {
    const { host, execs, sessions } = remoteLikeHost();
    const helper = HostHelper.for(host);
    assert.match(await helper.run(['version']), /^helper_version=\d+\n$/);
    assert.match(await helper.run(['version']), /^helper_version=\d+\n$/);
    // The first serve found no helper; one exec installed it; the second serve ran both.
    assert.equal(sessions.length, 2);
    assert.equal(execs.length, 1);
  });

  it('passes any bytes: arguments with newlines, stdin, stdout and stderr, and the exit status', async () => {
    const { host } = remoteLikeHost();
    const helper = HostHelper.for(host);
    const odd = 'a\nb\n\n';
    const failed = await helper.exec([odd]);
    assert.deepEqual(failed, { code: 1, stdout: '', stderr: `procmig-helper: unknown command '${odd}'\n` });
    const missing = path.join(scratch, 'missing file é');
    assert.equal(await helper.run(['check-files'], { stdin: `${missing}\t-\n` }), `${missing}\tmissing\n`);
    await assert.rejects(helper.run(['nope']), { name: 'HelperError', message: "procmig-helper: unknown command 'nope'" });
  });

  it('serves concurrent callers, each its own answer, on at most two channels', async () => {
    const { host, sessions } = remoteLikeHost();
    const helper = HostHelper.for(host);
    const files = Array.from({ length: 6 }, (_, i) => path.join(scratch, `gone-${i}`));
    const answers = await Promise.all(files.map((f) => helper.run(['check-files'], { stdin: `${f}\t-\n` })));
    assert.deepEqual(answers, files.map((f) => `${f}\tmissing\n`));
    assert.ok(sessions.length >= 1 && sessions.length <= 2, `${sessions.length} sessions`);
  });

  it('commands that stream or run long keep their own channel', async () => {
    const { host, execs } = remoteLikeHost();
    const helper = HostHelper.for(host);
    await helper.ensureInstalled();
    const before = execs.length;
    await helper.exec(['free-port']);
    assert.equal(execs.length, before + 1);
    assert.equal(execs.at(-1)?.at(-1), 'free-port');
  });

  it('a session that dies with a command in flight: one that only looks is asked again on a new one', async () => {
    const { host, sessions } = remoteLikeHost();
    const helper = HostHelper.for(host);
    await helper.run(['version']);
    const asked = helper.run(['version']);
    sessions[0]!.kill('SIGKILL');
    assert.match(await asked, /^helper_version=/);
    assert.equal(sessions.length, 2);
  });

  it('one that changes the host is not asked again: it fails with a sentence', async () => {
    const { host, sessions } = remoteLikeHost();
    const helper = HostHelper.for(host);
    await helper.run(['version']);
    const asked = helper.run(['check-files'], { stdin: `${path.join(scratch, 'x')}\t-\n` });
    sessions[0]!.kill('SIGKILL');
    await assert.rejects(asked, { name: 'HelperError', message: /^ended by SIGKILL$|its SSH session closed without an exit status/ });
    // The next command opens a new session.
    assert.match(await helper.run(['version']), /^helper_version=/);
    assert.equal(sessions.length, 2);
  });
});
