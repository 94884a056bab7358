// The host helper's parsers, run by sh on the built helper (dist/remote-helper/procmig-helper.sh,
// what is uploaded) in its sourced mode: PROCMIG_HELPER_SOURCED=1 defines its functions and runs
// no command, so they run here without root, CRIU or a host.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { remoteHelperFile } from '../../src/helper/hostHelper';

const helper = remoteHelperFile('procmig-helper.sh');
const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
const scratch = mkdtempSync(path.join(tmpdir(), 'helper-sourced-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const imagesBase = path.join(scratch, 'images');

/** Runs `script` in sh after sourcing the helper; ARGS are $1…, `input` its stdin. */
function sourced(script: string, args: string[] = [], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', ['-c', `. "$0"; ${script}`, helper, ...args], {
    encoding: 'utf8',
    input,
    env: { ...process.env, PROCMIG_HELPER_SOURCED: '1', PROCMIG_IMAGES_DIR: imagesBase },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the built helper', () => {
  it('is what remote-helper/build.mjs makes of the parts now (else: node esbuild.config.mjs)', async () => {
    const { buildHelper } = (await import(path.join(__dirname, '..', '..', 'remote-helper', 'build.mjs'))) as { buildHelper: () => string };
    assert.ok(readFileSync(helper, 'utf8') === buildHelper(), `${helper} is stale: run node esbuild.config.mjs`);
  });
  it('in sourced mode defines its functions and runs no command', () => {
    const r = sourced('type terminal_mode >/dev/null && echo "defined, images in $IMAGES_BASE"');
    assert.deepEqual(r, { code: 0, stdout: `defined, images in ${imagesBase}\n`, stderr: '' });
  });
});

describe('terminal_mode (how restore-tty hands the process its tmux pane)', () => {
  const record = (name: string, lines: string) => {
    const dir = path.join(scratch, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'terminal'), lines);
    return dir;
  };
  const mode = (dir: string, privilege = 'root') => sourced(`PRIVILEGE=${privilege}; terminal_mode "$1"`, [dir]).stdout;
  const leader = record('leader', 'key=tty[8803:1a]\nindex=3\nleader=1\ndescriptions=1\n');
  it("a session leader's whole terminal is replaced by the pane's, whatever its number", () => {
    assert.equal(mode(leader), 'ext tty[8803:1a]\n');
    assert.equal(mode(leader, 'sudo'), 'ext tty[8803:1a]\n');
  });
  it('not in unprivileged mode (the pane as controlling terminal takes root): CRIU hands it over (-j)', () => {
    assert.equal(mode(leader, 'unprivileged'), 'inherit\n');
  });
  it('a terminal held more than once in a shell session: the pane must have its number', () => {
    assert.equal(mode(record('reopened', 'key=tty[8807:1a]\nindex=7\nleader=0\ndescriptions=2\n')), 'number 7\n');
  });
  it('held once, or nothing recorded (no --shell-job, or an unreadable record): CRIU hands over the pane', () => {
    assert.equal(mode(record('once', 'key=tty[8807:1a]\nindex=7\nleader=0\ndescriptions=1\n')), 'inherit\n');
    assert.equal(mode(path.join(scratch, 'none')), 'inherit\n');
    assert.equal(mode(record('garbled', 'key=tty[zz]\nindex=x\nleader=1\ndescriptions=many\n')), 'inherit\n');
  });
});

describe('print_dump_stats (pre-copy rounds and the final dump)', () => {
  it("turns CRIU's --display-stats output into key=value lines, with this machine's page size", () => {
    const pageSize = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout.trim();
    const r = sourced('print_dump_stats "$(cat "$1")"', [fixture('criu-display-stats.txt')]);
    assert.equal(r.stdout, `frozen_us=80763\npages_scanned=57\npages_skipped=0\npages_written=30\npage_size=${pageSize}\n`);
  });
  it('no stats at all (CRIU failed before them) is only the page size: the client tells missing from 0', () => {
    assert.match(sourced('print_dump_stats ""').stdout, /^page_size=\d+\n$/);
  });
});

describe('log_errors (the CRIU log lines a failure sentence is made from)', () => {
  it("prints a log's errors and failed warnings to stderr, prefixed criu-log:, without RLIMIT_NOFILE's", () => {
    const r = sourced('log_errors "$1"', [fixture('criu-dump-failed.log')]);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      [
        'criu-log: (00.118927) Error (compel/src/lib/infect.c:417): Unable to detach from 22904: No such process',
        'criu-log: (00.118938) Error (criu/cr-dump.c:1975): Dumping FAILED.',
        '',
      ].join('\n'),
    );
  });
  it('the last 12 only, and nothing for a log that was never written', () => {
    const log = path.join(scratch, 'many.log');
    writeFileSync(log, Array.from({ length: 20 }, (_, i) => `(00.0000${i}) Error (criu/x.c:${i}): failure ${i}\n`).join(''));
    const lines = sourced('log_errors "$1"', [log]).stderr.trim().split('\n');
    assert.equal(lines.length, 12);
    assert.equal(lines[0], 'criu-log: (00.00008) Error (criu/x.c:8): failure 8');
    assert.deepEqual(sourced('log_errors "$1"; echo "rc=$?"', [path.join(scratch, 'absent.log')]), { code: 0, stdout: 'rc=0\n', stderr: '' });
  });
});

describe('check-files (the destination has the files the process needs)', () => {
  it('prints the missing ones and those of another size, nothing else', () => {
    const same = path.join(scratch, 'same');
    writeFileSync(same, 'abc');
    const input = `${same}\t3\n${same}\t4\n${same}\t-\n${path.join(scratch, 'gone')}\t-\n\n`;
    assert.equal(sourced('cmd_check_files', [], input).stdout, `${same}\tsize:3\n${path.join(scratch, 'gone')}\tmissing\n`);
  });
});

describe('image directories and round names the helper accepts', () => {
  it('only directories in its images base, without ..', () => {
    assert.equal(sourced('in_images_base "$1" && echo ok', [`${imagesBase}/img.AbC123`]).stdout, 'ok\n');
    assert.equal(sourced('in_images_base "$1"', ['/etc']).stderr, 'refusing to touch /etc: not an image directory\n');
    assert.equal(sourced('in_images_base "$1"', [`${imagesBase}/img.x/../../etc`]).code, 1);
  });
  it("a pre-copy round's name is letters, digits, _ and -", () => {
    assert.equal(sourced('check_round_name round-2_a && echo ok').stdout, 'ok\n');
    assert.equal(sourced('check_round_name "$1"', ['../x']).stderr, "bad round directory name '../x'\n");
  });
  it('taken_pid: the first PID of the dumped tree in use here (then the restore takes a new PID namespace)', () => {
    const dir = path.join(scratch, 'img.taken');
    mkdirSync(dir, { recursive: true });
    for (const f of ['core-99999999.img', `core-${process.pid}.img`, 'core-x.img', 'pstree.img']) writeFileSync(path.join(dir, f), '');
    assert.equal(sourced('taken_pid "$1"', [dir]).stdout, `${process.pid}\n`);
    rmSync(path.join(dir, `core-${process.pid}.img`));
    assert.deepEqual(sourced('taken_pid "$1"; echo "rc=$?"', [dir]).stdout, 'rc=1\n');
  });
});

describe('state', () => {
  it('running, stopped, or gone', () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      process.kill(sleeper.pid!, 'SIGSTOP');
      // The stop lands once the sleeper runs: wait for the kernel's word before asking the helper.
      for (let i = 0; i < 200 && !/\) T /.test(readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8')); i++) spawnSync('sleep', ['0.01']);
      assert.equal(sourced('cmd_state "$1"; cmd_state $$; cmd_state 99999999', [String(sleeper.pid)]).stdout, 'stopped\nrunning\ngone\n');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});

describe('our_session (the tmux sessions tty-attach and tmux-kill may touch)', () => {
  it("procmig-… names of letters, digits, _ and -, since they also name an exit-code file", () => {
    const ours = (name: string) => sourced('our_session "$1"', [name]).code === 0;
    for (const name of ['procmig-123', 'procmig-123-2', 'procmig-run-1']) assert.ok(ours(name), name);
    for (const name of ['procmig-', 'procmig-../../etc/x', 'procmig-a b', 'work', '']) assert.ok(!ours(name), name);
  });
});

describe('guard (the host side of a migration whose orchestrator went away)', () => {
  /** A stopped `sleep`, as a frozen source tree is; its state once `guard` read `lines` and EOF. */
  const afterGuard = (lines: string): string => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      process.kill(sleeper.pid!, 'SIGSTOP');
      const r = sourced('cmd_guard; sleep 0.2; s=$(sed "s/^.*) //" /proc/$1/stat | cut -c1); echo "$s"', [String(sleeper.pid)], `tree ${sleeper.pid}\n${lines}`);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    } finally {
      sleeper.kill('SIGKILL');
    }
  };

  it('resumes the frozen tree before the commit', () => {
    assert.match(afterGuard(''), /^[RS]$/);
  });

  it('kills it once told committed: the destination runs the process, so it must not run twice', () => {
    // Killed, it is a zombie until this test's process reaps it.
    assert.equal(afterGuard('committed\n'), 'Z');
  });
});
