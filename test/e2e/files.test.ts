// Files that exist only on the source: output files are recreated on the destination, inputs stop the
// preflight. Descriptors CRIU cannot dump (io_uring) stop it too, with what to do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, node24, onHost, procmig, startDetached, stateOf, waitFor, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

const lastLine = async (host: string, file: string) => Number((await onHost(host, `tail -n1 ${file} 2>/dev/null`)) || 0);

describe('files only on the source', () => {
  it('a Python process appending a counter to /tmp/e2e-log keeps writing, into a new /tmp/e2e-log on lab-b', async () => {
    const py = 'import time\nf = open("/tmp/e2e-log", "a")\ni = 0\nwhile True:\n    i += 1; f.write(f"{i}\\n"); f.flush(); time.sleep(0.1)\n';
    for (const h of [A, B]) await onHost(h, `cat > /tmp/e2e-logger.py <<'PY'\n${py}PY\nrm -f /tmp/e2e-log`);
    const pid = await startDetached(A, 'python3 /tmp/e2e-logger.py');
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await lastLine(A, '/tmp/e2e-log')) > 2);

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const option = r.json.options.find((o: { option: string }) => o.option.startsWith('restore --inherit-fd') && o.option.endsWith(':tmp/e2e-log'));
    assert.ok(option, JSON.stringify(r.json.options));
    assert.match(option.reason, /\/tmp\/e2e-log.*exists only on the source.*new file at the same path on lab-b/);
    const lastOnA = await lastLine(A, '/tmp/e2e-log');
    // The counter continues (in memory) into lab-b's own, new file.
    await waitFor(async () => (await lastLine(B, '/tmp/e2e-log')) > lastOnA + 2);
    assert.equal(await stateOf(B, pid), 'running');
    assert.ok(Number(await onHost(B, 'head -n1 /tmp/e2e-log')) > lastOnA - 1, 'the new file starts where A left off');
  });

  it('ten write-only files only on lab-a (past the 6 POSIX sh can open) each get a new file on lab-b, named in the report', async () => {
    // As a program started from VS Code's extension host holds ~9 of its logs. Half in a directory
    // lab-b has too (same path there), half in one it lacks (under the helper's cache there); one
    // opened without O_APPEND.
    const paths = [0, 1, 2, 3, 4].map((n) => `/tmp/e2e-many/f${n}.log`).concat([5, 6, 7, 8, 9].map((n) => `/tmp/e2e-only-a/f${n}.log`));
    const py =
      `import time\nfs = [open(p, "w" if i == 9 else "a") for i, p in enumerate(${JSON.stringify(paths)})]\ni = 0\n` +
      'while True:\n    i += 1\n    for f in fs: f.write(f"{i}\\n"); f.flush()\n    time.sleep(0.1)\n';
    await onHost(A, `rm -rf /tmp/e2e-many /tmp/e2e-only-a; mkdir -p /tmp/e2e-many /tmp/e2e-only-a; cat > /tmp/e2e-many.py <<'PY'\n${py}PY`);
    await onHost(B, `rm -rf /tmp/e2e-many /tmp/e2e-only-a ~/.cache/process-migrator/files/tmp/e2e-only-a; mkdir -p /tmp/e2e-many; cat > /tmp/e2e-many.py <<'PY'\n${py}PY`);
    const pid = await startDetached(A, 'python3 /tmp/e2e-many.py');
    cleanup.push(
      () => kill(A, pid),
      () => kill(B, pid),
      () => onHost(B, 'rm -rf /tmp/e2e-many /tmp/e2e-only-a ~/.cache/process-migrator/files/tmp/e2e-only-a').then(() => undefined),
    );
    await waitFor(async () => (await lastLine(A, paths[9])) > 2);

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const inherits = (r.json.options as { option: string; reason: string }[]).filter((o) => o.option.startsWith('restore --inherit-fd'));
    assert.equal(inherits.length, 10, JSON.stringify(r.json.options));
    const home = await onHost(B, 'echo $HOME');
    const lastOnA = await lastLine(A, paths[0]);
    for (const path of paths) {
      const o = inherits.find((i) => i.option.endsWith(`]:${path.slice(1)}`));
      assert.ok(o, `no --inherit-fd for ${path}: ${JSON.stringify(inherits)}`);
      assert.match(o.reason, new RegExp(`^${path}, which process ${pid} writes to \\(descriptor \\d+\\), exists only on the source`));
      const onB = path.startsWith('/tmp/e2e-many/') ? path : `${home}/.cache/process-migrator/files${path}`;
      assert.ok(o.reason.includes(`goes to ${path.startsWith('/tmp/e2e-many/') ? 'a new file at the same path on lab-b' : `${onB} on lab-b`}`), o.reason);
      // The counters go on, in memory, into lab-b's new files.
      await waitFor(async () => (await lastLine(B, onB)) > lastOnA + 2);
    }
    assert.deepEqual(
      inherits.map((i) => Number(/fd\[(\d+)\]/.exec(i.option)?.[1])),
      [4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    assert.equal(await stateOf(B, pid), 'running');
  });

  it('a file it only reads, missing on lab-b, stops the preflight with one sentence; the source keeps running', async () => {
    await onHost(A, 'echo data > /tmp/e2e-input');
    await onHost(B, 'rm -f /tmp/e2e-input');
    const pid = await startDetached(A, `sh -c 'exec 5</tmp/e2e-input; while :; do sleep 0.2; done'`);
    cleanup.push(() => kill(A, pid));
    await waitFor(async () => (await onHost(A, `ls -l /proc/${pid}/fd | grep -c e2e-input || true`)) === '1');
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.json.error, /missing on lab-b \(\/tmp\/e2e-input\)/);
    assert.equal(await stateOf(A, pid), 'running');
  });
});

describe('descriptors CRIU cannot dump', () => {
  const refused = async (pid: number) => {
    await waitFor(async () => (await onHost(A, `ls -l /proc/${pid}/fd | grep -c io_uring || true`)) !== '0');
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.equal(await stateOf(A, pid), 'running', 'never frozen');
    assert.equal(r.json.phases.freeze, undefined);
    return r.json.error as string;
  };

  it('a program holding an io_uring: the preflight says so in one sentence, before any freeze', async () => {
    // io_uring_setup(2) is syscall 425 on every architecture.
    const pid = await startDetached(A, `perl -e 'my $p = "\\0" x 120; syscall(425, 4, $p) >= 0 or die "io_uring_setup: $!"; sleep 600'`);
    cleanup.push(() => kill(A, pid));
    const error = await refused(pid);
    assert.match(error, new RegExp(`^Process ${pid} \\(perl\\) on lab-a uses io_uring \\(descriptor \\d+\\), which CRIU cannot checkpoint yet; restart it migration-ready.*\`procmig run --host lab-a --cwd \\S+ -- perl -e .*kernel\\.io_uring_disabled=2`));
    assert.doesNotMatch(error, /files only on/);
  });

  it('Node.js 22+ (libuv always uses io_uring): names Node.js, the migration-ready restart and the system-wide setting', async () => {
    await onHost(A, `echo 'setInterval(() => {}, 1000)' > /tmp/e2e-node-idle.js`);
    const pid = await startDetached(A, `${node24()} /tmp/e2e-node-idle.js`);
    cleanup.push(() => kill(A, pid));
    const error = await refused(pid);
    assert.match(error, new RegExp(`^Process ${pid} \\(\\S+\\) on lab-a is Node\\.js, which holds \\d+ io_uring instances that CRIU cannot checkpoint yet; restart it migration-ready`));
    assert.ok(error.includes(`\`procmig run --host lab-a --cwd /root -- ${node24()} /tmp/e2e-node-idle.js\``), error);
    assert.match(error, /sysctl kernel\.io_uring_disabled=2/);
    assert.doesNotMatch(error, /Node\.js 20/);
  });
});
