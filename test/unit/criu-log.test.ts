// explainCriuFailure: one sentence per known CRIU failure, CRIU's last error otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainCriuFailure } from '../../src/checkpoint/criuLog';
import { criuLog } from './fixtures';

const dump = { action: 'dump' as const, host: 'lab-a', pid: 4242 };
const restore = { action: 'restore' as const, host: 'lab-b' };
const noise = '(00.017246) Error (criu/util.c:1534): rlimit: Can\'t setup RLIMIT_NOFILE for self: Operation not permitted';

describe('explainCriuFailure', () => {
  it('PID already used on the destination', () => {
    const r = explainCriuFailure([noise, "(00.051230)      1: Error (criu/cr-restore.c:1501): Can't fork for 115741: File exists", '(00.051800) Error (criu/cr-restore.c:2604): Restoring FAILED.'], restore);
    assert.equal(r.kind, 'pid-taken');
    assert.equal(r.message, 'PID 115741 is already used on lab-b, so CRIU cannot give the process its PID back there; stop that process on lab-b or migrate to another host.');
  });

  it('file missing on the destination', () => {
    const r = explainCriuFailure(["(00.041002)  115741: Error (criu/files-reg.c:2238): Can't open file tmp/x on restore: No such file or directory"], restore);
    assert.equal(r.kind, 'file-missing');
    assert.equal(r.message, 'The process has /tmp/x open, but that file does not exist on lab-b; copy it there (same path) and retry.');
  });

  it('paths in sentences are absolute, as CRIU names them relative to the root (issue 8: "dev/shm/psm_…")', () => {
    const r = explainCriuFailure(["(00.052113)  120010: Error (criu/files-reg.c:2353): Can't open file dev/shm/psm_3de3690e on restore: No such file or directory"], restore);
    assert.equal(r.message, 'The process has /dev/shm/psm_3de3690e open, but that file does not exist on lab-b; copy it there (same path) and retry.');
    const already = explainCriuFailure(["Error (criu/files-reg.c:2353): Can't open file /srv/x on restore: No such file or directory"], restore);
    assert.match(already.message, /^The process has \/srv\/x open,/);
  });

  it('file with other permissions on the destination', () => {
    const r = explainCriuFailure(['(00.061950)  120010: Error (criu/files-reg.c:2294): File tmp/e2e-shm-rb.key has bad mode 0100600 (expect 0100644)'], restore);
    assert.equal(r.kind, 'file-mode');
    assert.equal(r.message, 'The file /tmp/e2e-shm-rb.key on lab-b has other permissions (mode 0600) than the one the process had open (0644); give it the same mode (chmod 0644) and retry.');
  });

  it('file of another size on the destination', () => {
    const r = explainCriuFailure(['(00.040410)  115741: Error (criu/files-reg.c:2186): File tmp/log has bad size 10 (expect 20)'], restore);
    assert.equal(r.kind, 'file-size');
    assert.equal(r.message, 'The file /tmp/log on lab-b differs in size from the one the process had open; make the two copies identical and retry.');
  });

  it('disk full', () => {
    const r = explainCriuFailure(['(00.310000) Error (criu/image.c:453): Unable to write to pages-1.img: No space left on device'], dump);
    assert.equal(r.kind, 'disk-full');
    assert.match(r.message, /^lab-a ran out of disk space while writing the checkpoint images; free some space in \/var\/tmp there and retry\.$/);
  });

  it('terminal: the line CRIU 4.2.1 prints for a shell job dumped without --shell-job', () => {
    const r = explainCriuFailure(criuLog('criu-dump-tty.log'), dump);
    assert.equal(r.kind, 'terminal');
    assert.equal(r.message, "CRIU could not dump the process's terminal on lab-a; run it inside tmux or screen, or without a terminal, and retry.");
  });

  it('terminal: older wordings', () => {
    for (const line of ['Error (criu/tty.c:1001): tty: No task found with sid 77', 'Error (criu/tty.c:1002): tty: Can\'t find sid 77', 'Error (criu/tty.c:1003): The tty 0x8800 is not dumped']) {
      assert.equal(explainCriuFailure([line], restore).kind, 'terminal', line);
    }
  });

  it('traced', () => {
    const r = explainCriuFailure(['(00.030471) Error (compel/src/lib/infect.c:132): Unable to seize 4242: Operation not permitted'], dump);
    assert.equal(r.kind, 'traced');
    assert.equal(r.message, 'Process 4242 on lab-a is being traced (a debugger or strace is attached); detach it and retry.');
    const noPid = explainCriuFailure(['Error (criu/seize.c:1): Process 4242 is traced'], restore);
    assert.equal(noPid.message, 'Process on lab-b is being traced (a debugger or strace is attached); detach it and retry.');
  });

  it('established TCP connection (CRIU 4.2.1 log)', () => {
    const r = explainCriuFailure(criuLog('criu-dump-tcp.log'), dump);
    assert.equal(r.kind, 'tcp');
    assert.match(r.message, /^The process on lab-a has established TCP connections CRIU will not move;/);
  });

  it('page-pipe tee not permitted', () => {
    const r = explainCriuFailure(['(00.120000) Error (criu/page-pipe.c:112): page-pipe: tee: 65536: Operation not permitted'], dump);
    assert.equal(r.kind, 'unsupported');
    assert.match(r.message, /^CRIU cannot grow its pipes on lab-a \(fs\.pipe-max-size is below 4 MiB .*`sysctl fs\.pipe-max-size=4194304` there/);
  });

  it('old CRIU on a new kernel (vDSO)', () => {
    const r = explainCriuFailure(['(00.011000) Error (criu/vdso.c:300): vdso: Unexpected rt vDSO area bounds'], restore);
    assert.equal(r.kind, 'unsupported');
    assert.equal(r.message, 'The CRIU on lab-b is too old for its kernel; install CRIU 4.2 or newer (`procmig setup lab-b` or Set Up Host… does it).');
  });

  it('fd into an unknown mount', () => {
    const r = explainCriuFailure(["(00.021000) Error (criu/files-reg.c:1714): Can't lookup mount=1234 for fd=19 path=/vscode/x"], dump);
    assert.equal(r.kind, 'unsupported');
    assert.match(r.message, /^Descriptor 19 of the process on lab-a points into a mount CRIU cannot see/);
  });

  it('ghost file too large', () => {
    const r = explainCriuFailure(["(00.021000) Error (criu/files-reg.c:900): Can't dump ghost file /tmp/big.bin of 2147483648 size, increase limit"], dump);
    assert.equal(r.kind, 'unsupported');
    assert.equal(r.message, 'The process on lab-a holds the deleted file /tmp/big.bin, too large to carry; close it and retry.');
  });

  it('a rule wins over an earlier, unexplained error line', () => {
    const r = explainCriuFailure(['Error (criu/a.c:1): something odd', "Error (criu/cr-restore.c:1501): Can't fork for 7: File exists"], restore);
    assert.equal(r.kind, 'pid-taken');
  });

  it('the RLIMIT_NOFILE noise line never wins', () => {
    const r = explainCriuFailure([noise, '(00.020000) Error (criu/mount.c:10): mnt: Unable to open /proc/self/mountinfo'], dump);
    assert.equal(r.kind, 'other');
    assert.equal(r.message, 'CRIU failed to checkpoint process 4242 on lab-a: mnt: Unable to open /proc/self/mountinfo; see the CRIU log (Show Log, or --json) for details.');
    const only = explainCriuFailure([noise, "(00.0) Warn (criu/kerndat.c:1): Can't keep kdat cache on non-tempfs"], restore);
    assert.equal(only.message, 'CRIU failed to restore the process on lab-b; see the CRIU log (Show Log, or --json) for details.');
  });

  it('the fallback quotes CRIU\'s last error, not its closing "FAILED." line', () => {
    const r = explainCriuFailure(criuLog('criu-dump-traced.log'), dump);
    assert.equal(r.kind, 'other');
    assert.equal(r.message, 'CRIU failed to checkpoint process 4242 on lab-a: Unable to detach from 13863: No such process; see the CRIU log (Show Log, or --json) for details.');
    const restored = explainCriuFailure(['(00.1) 55: Error (criu/cr-restore.c:1): Something odd happened', '(00.2) Error (criu/cr-restore.c:2604): Restoring FAILED.'], restore);
    assert.equal(restored.message, 'CRIU failed to restore the process on lab-b: Something odd happened; see the CRIU log (Show Log, or --json) for details.');
  });

  it('the fallback quotes the helper\'s own line when CRIU logged nothing', () => {
    const r = explainCriuFailure(['the CRIU page server did not start on lab-b'], { action: 'page-server', host: 'lab-b' });
    assert.equal(r.message, 'CRIU failed to receive the memory pages on lab-b: the CRIU page server did not start on lab-b; see the CRIU log (Show Log, or --json) for details.');
    assert.equal(explainCriuFailure([], { action: 'dump', host: 'h' }).message, 'CRIU failed to checkpoint process on h; see the CRIU log (Show Log, or --json) for details.');
  });
});

describe('explainCriuFailure: modes', () => {
  it('a file at the same path with another mode on the destination (a FIFO made by hand) names both modes and the chmod', () => {
    const e = explainCriuFailure(
      ['File tmp/kinds-fifo has bad mode 010600 (expect 010644)', 'File r/w/x checks can be skipped with the --skip-file-rwx-check option', 'Unable to open fd=3 id=0x19'],
      { action: 'restore', host: 'lab-b' },
    );
    assert.equal(e.kind, 'file-mode');
    assert.equal(e.message, 'The file /tmp/kinds-fifo on lab-b has other permissions (mode 0600) than the one the process had open (0644); give it the same mode (chmod 0644) and retry.');
  });
});
