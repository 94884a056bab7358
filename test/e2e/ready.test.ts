// Programs started migration-ready (`procmig run`): Node.js 24, which otherwise holds io_uring
// that CRIU cannot checkpoint, moves with plain `procmig migrate` and keeps its state; without
// the launcher it is refused before any freeze, with the advice to start it this way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cli, kill, node24, onHost, procmig, sharedDir, startDetached, stateOf, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();
const run = promisify(execFile);

/** A Node.js HTTP server counting requests in memory: GET / answers the count after adding one. */
function counterServer(): string {
  const file = path.join(sharedDir('ready'), 'counter-server.js');
  writeFileSync(file, "let n = 0;\nrequire('http').createServer((q, s) => s.end(String(++n))).listen(Number(process.argv[2]), '127.0.0.1');\n");
  return file;
}

const ask = async (host: string, port: number) => Number(await onHost(host, `curl -fsS http://127.0.0.1:${port}/`));
/** Until `pid` holds no TCP socket on `port` but its listener: the one a request left behind,
 * closing, would be dumped bound to the port, and its restore collide with the listener's
 * ("Address already in use"). */
const settled = (host: string, pid: number, port: number) =>
  waitFor(async () => (await onHost(host, `ss -Htanp '( sport = :${port} )' | grep -v LISTEN | grep -c 'pid=${pid},' || true`)) === '0');
const answers = (host: string, port: number) => waitFor(async () => (await ask(host, port).catch(() => 0)) > 0);
const status = (host: string, pid: number, field: string) => onHost(host, `sed -n 's/^${field}:[[:space:]]*//p' /proc/${pid}/status`);
const ioUrings = (host: string, pid: number) => onHost(host, `ls -l /proc/${pid}/fd | grep -c 'anon_inode:\\[io_uring\\]' || true`).then(Number);

describe('procmig run', () => {
  it('a Node.js 24 counter started with `procmig run` on lab-a moves to lab-b with plain `procmig migrate`: count and filter kept', async () => {
    const node = node24();
    const port = 27811;
    const r = await procmig(['run', '--host', A, '--json', '--', node, counterServer(), String(port)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { pid, log } = r.json;
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    assert.equal(r.json.ok, true, r.json.error);
    assert.match(log, /^\/root\/\.cache\/process-migrator\/run\/node\.\w+\.log$/);
    assert.equal(await onHost(A, `stat -c %a ${log} $(dirname ${log})`), '600\n700');
    // Detached: a session of its own, stdin on /dev/null, output into the log.
    assert.equal(await onHost(A, `ps -o sid= -p ${pid}`), String(pid));
    assert.equal(await onHost(A, `readlink /proc/${pid}/fd/0 /proc/${pid}/fd/1`), `/dev/null\n${log}`);
    await answers(A, port);
    assert.equal(await status(A, pid, 'Seccomp'), '2');
    assert.equal(await status(A, pid, 'NoNewPrivs'), '1');
    assert.equal(await ioUrings(A, pid), 0, 'no io_uring under the launcher');
    await ask(A, port);
    const before = await ask(A, port);

    const m = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.equal(m.json.ok, true, m.json.error);
    const moved = m.json.destinationPid;
    assert.equal(await stateOf(A, pid), 'gone');
    assert.ok((await ask(B, port)) >= before + 1, 'the count continues on lab-b');
    assert.equal(await status(B, moved, 'Seccomp'), '2', 'the filter moved with it');
    assert.equal(await ioUrings(B, moved), 0);
  });

  /** `procmig run --tmux` of the counter on lab-a: its PID, session, and count so far. */
  async function counterInTmux(port: number) {
    const r = await procmig(['run', '--host', A, '--tmux', '--json', '--', node24(), counterServer(), String(port)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { pid, terminal } = r.json;
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    if (terminal) cleanup.push(() => onHost(A, `tmux kill-session -t '=${terminal.session}' 2>/dev/null; true`).then(() => undefined));
    assert.equal(r.json.ok, true, r.json.error);
    assert.match(terminal.session, /^procmig-run-\d+$/);
    assert.deepEqual(terminal, { host: A, session: terminal.session, attach: ['tmux', 'attach', '-t', terminal.session] });
    assert.equal(await onHost(A, `tmux list-panes -t '=${terminal.session}' -F '#{pane_pid}'`), String(pid));
    await answers(A, port);
    assert.equal(await status(A, pid, 'Seccomp'), '2');
    return { pid: pid as number, session: terminal.session as string, count: await ask(A, port) };
  }

  it('--tmux: the program runs migration-ready in a new tmux session on lab-a; the text says how to attach', async () => {
    const { pid } = await counterInTmux(27812);
    assert.equal(await ioUrings(A, pid), 0);
    const text = await procmig(['run', '--host', A, '--tmux', '--', 'sleep', '600']);
    assert.equal(text.code, 0, text.stderr);
    const sleeper = Number(/as PID (\d+)/.exec(text.stdout)?.[1]);
    cleanup.push(() => kill(A, sleeper));
    assert.match(text.stdout, /\nIts terminal: ssh -t lab-a tmux attach -t procmig-run-\d+\n/);
  });

  /** Terminals held on `host` for the rest of the file (tmux sessions of `sleep`, named after
   * `name`), so that pty numbers differ between the hosts. */
  async function fillPtys(host: string, n: number, name: string): Promise<void> {
    for (let i = 1; i <= n; i++) await onHost(host, `tmux new-session -d -s pm-${name}-${i} sleep 300`);
    cleanup.push(() => onHost(host, `for i in $(seq ${n}); do tmux kill-session -t '=pm-${name}-'$i; done 2>/dev/null; true`).then(() => undefined));
  }

  /** Every descriptor of `pid` on `host` that is a pty, as the link says. */
  const ttyLinks = (host: string, pid: number) => onHost(host, `for f in /proc/${pid}/fd/*; do readlink $f; done | grep '^/dev/pts/' | sort -u`);

  it('--tmux: the program moves into a tmux session on lab-b, its count kept, whatever pty number the pane gets there', async () => {
    await fillPtys(B, 2, 'leader');
    const { pid, count } = await counterInTmux(27815);
    assert.equal((await ttyLinks(A, pid)).split('\n').length, 1);
    const m = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.equal(m.json.ok, true, m.json.error);
    const session = m.json.terminal?.session;
    cleanup.push(() => onHost(B, `tmux kill-session -t '=${session}' 2>/dev/null; true`).then(() => undefined));
    assert.equal(m.json.terminal.host, B);
    // Every descriptor it had on its terminal (Node.js reopens it) is now the session's pane.
    assert.equal(await ttyLinks(B, m.json.destinationPid), await onHost(B, `tmux list-panes -t '=${session}' -F '#{pane_tty}'`));
    assert.ok((m.json.options as { option: string }[]).some((o) => /^restore --inherit-fd fd\[3\]:tty\[[0-9a-f]+:[0-9a-f]+\]$/.test(o.option)), JSON.stringify(m.json.options));
    assert.ok((await ask(B, 27815)) >= count + 1, 'the count continues on lab-b');
    assert.equal(await status(B, m.json.destinationPid, 'Seccomp'), '2');
  });

  /** A migration-ready Node.js 24 counter typed into an interactive shell in tmux on lab-a: the
   * shell leads the terminal's session and stays. Its PID and pty number there. */
  async function counterInShell(port: number) {
    const r = await procmig(['run', '--host', A, '--tmux', '--json', '--', 'bash', '--norc', '-i']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const shell = r.json.pid as number;
    cleanup.push(() => onHost(A, `tmux kill-session -t '=${r.json.terminal.session}' 2>/dev/null; true`).then(() => undefined));
    await onHost(A, `tmux send-keys -t '=${r.json.terminal.session}:' '${node24()} ${counterServer()} ${port}' Enter`);
    await answers(A, port);
    const pid = Number(await onHost(A, `pgrep -P ${shell}`));
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    assert.notEqual(await onHost(A, `ps -o sid= -p ${pid}`), String(pid));
    const tty = Number((await ttyLinks(A, pid)).replace('/dev/pts/', ''));
    const count = await ask(A, port);
    await settled(A, pid, port);
    return { pid, tty, count };
  }

  it("a Node.js program run from a shell that stays on lab-a: its pane on lab-b gets its pty's number, since CRIU reopens a reopened terminal by number", async () => {
    await fillPtys(A, 3, 'shell');
    const { pid, tty, count } = await counterInShell(27816);
    const m = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.equal(m.json.ok, true, m.json.error);
    const session = m.json.terminal?.session;
    cleanup.push(() => onHost(B, `tmux kill-session -t '=${session}' 2>/dev/null; true`).then(() => undefined));
    const pane = await onHost(B, `tmux list-panes -t '=${session}' -F '#{pane_tty}'`);
    assert.equal(pane, `/dev/pts/${tty}`);
    assert.equal(await ttyLinks(B, m.json.destinationPid), pane);
    assert.ok((m.json.options as { option: string }[]).some((o) => o.option === `restore in a tmux pane on /dev/pts/${tty}`), JSON.stringify(m.json.options));
    assert.ok((await ask(B, 27816)) >= count + 1, 'the count continues on lab-b');
  });

  it('… and when that number is in use on lab-b, the move is refused with a sentence, and the program keeps counting on lab-a', async () => {
    const { pid, tty, count } = await counterInShell(27817);
    await fillPtys(B, tty + 1, 'taken');
    const m = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(m.code, 0, m.stdout);
    assert.match(m.json.error, new RegExp(`holds its terminal /dev/pts/${tty} more than once .* in use on lab-b; close that terminal there`));
    assert.equal(await stateOf(A, pid), 'running');
    assert.ok((await ask(A, 27817)) >= count + 1, 'it counts on lab-a');
  });

  it('a Node.js 24 started without it is refused before any freeze, told to restart it with `procmig run`', async () => {
    const node = node24();
    const server = counterServer();
    const port = 27813;
    const pid = await startDetached(A, `${node} ${server} ${port}`);
    cleanup.push(() => kill(A, pid));
    await answers(A, port);
    assert.ok((await ioUrings(A, pid)) > 0, 'Node.js 24 holds io_uring by default');
    const counted = await ask(A, port);

    const m = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(m.code, 0, m.stdout);
    assert.equal(m.json.phases.freeze, undefined);
    assert.equal(m.json.phases.dump, undefined, 'refused before any freeze');
    const error: string = m.json.error;
    assert.match(error, new RegExp(`^Process ${pid} \\(\\S+\\) on lab-a is Node\\.js, which holds \\d+ io_uring instances that CRIU cannot checkpoint yet; restart it migration-ready`));
    assert.ok(error.includes('in a Process Migrator terminal in VS Code'), error);
    assert.ok(error.includes(`\`procmig run --host lab-a --cwd /root -- ${node} ${server} ${port}\``), error);
    assert.match(error, /`sysctl kernel\.io_uring_disabled=2`/);
    assert.doesNotMatch(error, /Node\.js 20/);
    assert.equal(await stateOf(A, pid), 'running');
    assert.equal(await ask(A, port), counted + 1, 'it serves on, untouched');
  });

  it('as a normal user (CRIU in its unprivileged mode), a migration-ready program is refused before any freeze, in one sentence', async () => {
    // The lab's root lacks CAP_SYS_RESOURCE, so pmdev's CRIU runs in its unprivileged mode, which
    // cannot suspend a seccomp filter to dump it (CAP_SYS_ADMIN).
    const port = 27814;
    // Idempotent: on a fresh machine the users test that sets pmdev up comes later.
    for (const host of ['lab-a', 'lab-b']) {
      const setup = await procmig(['setup', host, '--user', 'pmdev']);
      assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    }
    const r = await procmig(['run', '--host', 'lab-a-dev', '--json', '--', node24(), counterServer(), String(port)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { pid } = r.json;
    cleanup.push(() => kill(A, pid));
    assert.match(r.json.log, /^\/home\/pmdev\/\.cache\/process-migrator\/run\//);
    await answers(A, port);
    const counted = await ask(A, port);
    const m = await procmig(['migrate', String(pid), '--from', 'lab-a-dev', '--to', 'lab-b-dev', '--json']);
    assert.notEqual(m.code, 0, m.stdout);
    assert.equal(m.json.phases.dump, undefined, 'refused before any freeze');
    assert.match(m.json.error, new RegExp(`^Process ${pid} \\(\\S+\\) on lab-a-dev runs under a seccomp filter \\(started migration-ready, or sandboxed\\), which CRIU in its unprivileged mode cannot checkpoint \\(that takes CAP_SYS_ADMIN\\); migrate it as root\\.$`));
    assert.equal(await ask(A, port), counted + 1, 'it serves on, untouched');
  });

  it('local: no SSH, the filter on, a private log', async () => {
    const r = await procmig(['run', '--json', '--', 'sleep', '600']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { pid, log } = r.json;
    cleanup.push(() => run('kill', ['-KILL', String(pid)]).then(() => undefined));
    assert.equal(r.json.host, 'local');
    const { stdout } = await run('sed', ['-n', 's/^\\(Seccomp\\|NoNewPrivs\\):[[:space:]]*//p', `/proc/${pid}/status`]);
    assert.equal(stdout, '1\n2\n');
    assert.equal(statSync(log).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(log)).mode & 0o777, 0o700);
  });

  it('errors are one sentence with the fix: a missing command, a program that ends at once', async () => {
    const missing = await procmig(['run', '--host', A, '--', 'e2e-ready-no-such-program']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^procmig: Command not found on \S+: e2e-ready-no-such-program \(PATH is [^)]*\); install it there or give its full path\.\n$/);

    const ends = await procmig(['run', '--host', A, '--json', '--', 'sh', '-c', 'echo e2e-ready-oops >&2; exit 3']);
    assert.equal(ends.code, 1);
    assert.match(ends.json.error, /^`sh -c 'echo e2e-ready-oops >&2; exit 3'` ended at once on lab-a with exit code 3 \(its last line: e2e-ready-oops\); its output is in \S+ there\.$/);
  });

  it('no perl, no tmux: one sentence each, with the fix (here, with the tool hidden in a mount namespace of its own)', async () => {
    const without = async (tool: string, args: string[]) => {
      const bin = (await run('sh', ['-c', `command -v ${tool}`])).stdout.trim();
      const script = `mount --bind /dev/null ${bin} && exec node "$@"`;
      return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', cli, 'run', ...args]).then(
        () => assert.fail(`procmig run without ${tool} succeeded`),
        (err: { code: number; stderr: string }) => err,
      );
    };
    const noPerl = await without('perl', ['--', 'sleep', '600']);
    assert.equal(noPerl.code, 1);
    assert.match(noPerl.stderr, /^procmig: Perl is not installed on \S+, and starting a program migration-ready needs it; install it there \(Debian: apt-get install perl-base\)\.\n$/);
    const noTmux = await without('tmux', ['--tmux', '--', 'sleep', '600']);
    assert.equal(noTmux.code, 1);
    assert.match(noTmux.stderr, /^procmig: There is no tmux on \S+; install it there \(e\.g\. apt-get install tmux\) or start the program without --tmux\.\n$/);
  });
});
