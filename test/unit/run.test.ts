// `procmig run`: the helper command it builds, what it makes of the helper's answer, its output,
// and the helper as uploaded (it carries the launcher for `perl -x`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { formatRun } from '../../src/cli/format';
import { commandLine, parseRunReady, runMigrationReady, runReadyArgs } from '../../src/migration/run';
import type { ExecResult, Host } from '../../src/transport/host';
import { AnsweringHost } from './fakes/transport';

describe('runReadyArgs', () => {
  it('passes the command after `--`, untouched', () => {
    assert.deepEqual(runReadyArgs({ host: 'lab-a', command: ['node', '--inspect', 'server.js'] }), ['run-ready', '--', 'node', '--inspect', 'server.js']);
  });
  it('--cwd and --tmux (sessions procmig-run-N)', () => {
    assert.deepEqual(runReadyArgs({ host: 'h', command: ['sleep', '9'], tmux: true, cwd: '/srv/app' }), [
      'run-ready', '--cwd', '/srv/app', '--tmux', 'procmig-run', '--', 'sleep', '9',
    ]);
  });
  it('refuses an empty command with the fix', () => {
    assert.throws(() => runReadyArgs({ host: 'h', command: [] }), /give it after `--`/);
  });
});

describe('parseRunReady', () => {
  const request = { host: 'lab-a', command: ['node', 'server.js'] };
  it('detached: PID and log', () => {
    assert.deepEqual(parseRunReady(request, 'pid=4242\nlog=/root/.cache/process-migrator/run/node.Ab12Cd.log\n'), {
      ok: true, host: 'lab-a', command: ['node', 'server.js'], pid: 4242, log: '/root/.cache/process-migrator/run/node.Ab12Cd.log',
    });
  });
  it('tmux: the session and how to attach', () => {
    const r = parseRunReady({ ...request, tmux: true }, 'session=procmig-run-2\npid=77\n');
    assert.equal(r.ok, true);
    assert.deepEqual(r.terminal, { host: 'lab-a', session: 'procmig-run-2', attach: ['tmux', 'attach', '-t', 'procmig-run-2'] });
  });
  it('a program that ended at once is a failure, with its exit code and last line', () => {
    const r = parseRunReady(request, 'pid=5\nlog=/l/node.x.log\nended=1\nexit_code=1\nlast_line=Error: Cannot find module \'/srv/server.js\'\n');
    assert.equal(r.ok, false);
    assert.equal(
      r.error,
      "`node server.js` ended at once on lab-a with exit code 1 (its last line: Error: Cannot find module '/srv/server.js'); its output is in /l/node.x.log there.",
    );
    // In tmux the exit code and output are gone with the pane.
    assert.match(parseRunReady({ ...request, tmux: true }, 'session=procmig-run-1\npid=5\nended=1\n').error!, /ended at once on lab-a; run it without --tmux/);
  });
});

const ok = (stdout: string): ExecResult => ({ code: 0, signal: null, stdout, stderr: '' });
const fail = (stderr: string): ExecResult => ({ code: 1, signal: null, stdout: '', stderr: `${stderr}\n` });

describe('runMigrationReady', () => {
  it('a helper failure is the helper\'s own sentence, capitalised', async () => {
    const host = new AnsweringHost(() => fail('perl is not installed on b1, and starting a program migration-ready needs it; install it there (Debian: apt-get install perl-base)'));
    const r = await runMigrationReady(async () => HostHelper.for(host as unknown as Host), { host: 'b', command: ['node'] });
    assert.deepEqual(r, {
      ok: false, host: 'b', command: ['node'],
      error: 'Perl is not installed on b1, and starting a program migration-ready needs it; install it there (Debian: apt-get install perl-base).',
    });
  });
  it('a host that cannot be reached is a failed result, not a throw', async () => {
    const r = await runMigrationReady(async () => { throw new Error('Cannot reach b: connection refused.'); }, { host: 'b', command: ['node'] });
    assert.equal(r.error, 'Cannot reach b: connection refused.');
  });
  it('the uploaded helper carries the launcher after its last command, for perl -x', async () => {
    let installed = false;
    const host = new AnsweringHost((argv) => {
      if (argv[2]?.includes('cat >')) return (installed = true), ok('');
      return installed ? ok('pid=9\nlog=/x.log\n') : { code: 97, signal: null, stdout: '__PROCMIG_HELPER_MISSING__\n', stderr: '' };
    });
    const helper = HostHelper.for(host as unknown as Host);
    const r = await runMigrationReady(async () => helper, { host: 'fake', command: ['sleep', '1'] });
    assert.equal(r.ok, true);
    const upload = host.calls.find((c) => typeof c.stdin === 'string')!.stdin as string;
    const [sh, perl] = upload.split(/\n(?=#!\/usr\/bin\/perl\n)/);
    assert.match(sh, /^#!\/bin\/sh\n/);
    assert.match(sh, /\nexit\n(?:#.*\n)*: <<'MIGRATION_READY'$/, 'the sh part ends before the perl part, a here-document sh never runs');
    assert.match(perl, /io_uring_setup/);
    assert.match(perl, /\n__END__\nMIGRATION_READY\n$/, 'perl stops before the end of the here-document');
    assert.deepEqual(host.calls.at(-1)!.argv.slice(-4), ['run-ready', '--', 'sleep', '1']);
  });
});

describe('formatRun', () => {
  it('detached on a remote host', () => {
    assert.equal(
      formatRun({ ok: true, host: 'lab-a', command: ['node', 'my server.js'], pid: 4242, log: '/root/.cache/process-migrator/run/node.Ab12Cd.log' }),
      [
        "Started `node 'my server.js'` migration-ready on lab-a as PID 4242.",
        'Its output: /root/.cache/process-migrator/run/node.Ab12Cd.log on lab-a',
        'To move it: procmig migrate 4242 --from lab-a --to HOST',
        '',
      ].join('\n'),
    );
  });
  it('in tmux: the attach command, over ssh -t for a remote host', () => {
    const terminal = { host: 'lab-a', session: 'procmig-run-1', attach: ['tmux', 'attach', '-t', 'procmig-run-1'] };
    assert.match(formatRun({ ok: true, host: 'lab-a', command: ['vim'], pid: 8, terminal }), /\nIts terminal: ssh -t lab-a tmux attach -t procmig-run-1\n/);
    assert.match(formatRun({ ok: true, host: 'local', command: ['vim'], pid: 8, terminal: { ...terminal, host: 'local' } }), /\nIts terminal: tmux attach -t procmig-run-1\n/);
  });
  it('commandLine quotes as a shell would need', () => {
    assert.equal(commandLine(['sh', '-c', "echo 'hi'; sleep 1"]), `sh -c 'echo '\\''hi'\\''; sleep 1'`);
  });
});
