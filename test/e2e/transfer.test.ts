// How the memory travels: host to host over OpenSSH when the source reaches the destination,
// relayed through this machine when it cannot; either way the memory arrives intact and the
// one-time sshd and keys of a direct transfer are gone afterwards. A large process's memory goes
// straight into its restored copy, held stopped until the last page came.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createEngine } from '../../src/migration/engine';
import { kill, onHost, procmig, sshConfig, startDetached, useLab, waitFor, withCriuWrapper } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

/** A Python process holding `mib` MiB that writes its memory's checksum on start and on SIGUSR1. */
async function startMemoryHolder(tag: string, mib = 64): Promise<{ pid: number; before: string }> {
  const script = [
    'import hashlib, os, signal, sys, time',
    `data = bytearray(os.urandom(1 << 20)) * ${mib}`,
    `open("/tmp/e2e-${tag}-before", "w").write(hashlib.sha256(data).hexdigest())`,
    `def check(*_): open("/tmp/e2e-${tag}-after", "w").write(hashlib.sha256(data).hexdigest())`,
    'signal.signal(signal.SIGUSR1, check)',
    'while True: time.sleep(1)',
  ].join('\n');
  await onHost(A, `rm -f /tmp/e2e-${tag}-*; cat > /tmp/e2e-${tag}.py <<'PY'\n${script}\nPY`);
  await onHost(B, `rm -f /tmp/e2e-${tag}-*; cp /dev/null /tmp/e2e-${tag}.py`);
  const pid = await startDetached(A, `/usr/bin/python3 /tmp/e2e-${tag}.py`);
  cleanup.push(() => kill(A, pid), () => kill(B, pid));
  await waitFor(async () => (await onHost(A, `cat /tmp/e2e-${tag}-before 2>/dev/null || true`)).length === 64, 30_000);
  return { pid, before: await onHost(A, `cat /tmp/e2e-${tag}-before`) };
}

async function assertIntact(tag: string, pid: number, before: string, host = B): Promise<void> {
  await onHost(host, `kill -USR1 ${pid}`);
  await waitFor(async () => (await onHost(host, `cat /tmp/e2e-${tag}-after 2>/dev/null || true`)).length === 64, 30_000);
  assert.equal(await onHost(host, `cat /tmp/e2e-${tag}-after`), before, `the memory checksum matches on ${host}`);
}

const imageDirs = async (host: string) => onHost(host, 'ls /var/tmp/process-migrator 2>/dev/null | grep img. || true');

/** No one-time sshd or ssh tunnel of a direct transfer runs on either host any more. */
async function assertNoTunnelLeft(): Promise<void> {
  for (const host of [A, B]) {
    await waitFor(async () => (await onHost(host, "pgrep -f 'direct/(sshd_config|key)' || true")) === '', 10_000).catch(() => {
      assert.fail(`a direct-transfer sshd or ssh is still running on ${host}`);
    });
  }
}

describe('memory transfer between the hosts', () => {
  for (const strategy of ['stop-and-copy', 'post-copy']) {
    it(`${strategy}: goes host to host over OpenSSH, arrives intact, and leaves no tunnel behind`, async () => {
      const tag = `direct-${strategy}`;
      const { pid, before } = await startMemoryHolder(tag);
      const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', strategy, '--json']);
      assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
      assert.equal(result.json.strategy, strategy);
      assert.match(result.json.transfer, /direct lab-a → lab-b over OpenSSH/);
      assert.ok(result.json.bytes > 64 * 1024 * 1024, 'the 64 MiB of memory was counted');
      cleanup.push(() => kill(B, result.json.destinationPid));
      await assertIntact(tag, result.json.destinationPid, before);
      await assertNoTunnelLeft();
    });
  }

  it('is relayed through this machine when the source cannot reach the destination, and says why', async () => {
    // lab-b under an address lab-a cannot reach; this machine still gets there (its proxy goes
    // to the real address) and checks the real host key under the alias lab-b.
    const dir = mkdtempSync(path.join(tmpdir(), 'procmig-e2e-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = readFileSync(sshConfig, 'utf8').replace(
      /Host lab-b\n(\s+)HostName 10\.77\.0\.12\n/,
      'Host lab-b\n$1HostName 10.77.0.99\n$1HostKeyAlias lab-b\n',
    ).replace(/(Host lab-b[\s\S]*?ProxyCommand .*?TCP:)%h(:%p)/, '$110.77.0.12$2');
    assert.match(config, /HostName 10\.77\.0\.99/);
    writeFileSync(path.join(dir, 'config'), config);

    const tag = 'relayed';
    const { pid, before } = await startMemoryHolder(tag);
    const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json'], { sshConfig: path.join(dir, 'config') });
    assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
    assert.match(result.json.transfer, /relayed through this machine, as lab-a cannot reach lab-b directly: .+/);
    cleanup.push(() => kill(B, result.json.destinationPid));
    await assertIntact(tag, result.json.destinationPid, before);
    await assertNoTunnelLeft();
  });

  it('takes the way readied while the destination was picked, and drops one nobody took', async () => {
    const lines: string[] = [];
    const engine = createEngine({ sshConfigFile: sshConfig, log: (l) => lines.push(l) });
    cleanup.push(() => engine.dispose());
    const sshdRuns = async () => (await onHost(B, "pgrep -f 'direct/sshd_config' || true")) !== '';

    const tag = 'readied';
    const { pid, before } = await startMemoryHolder(tag);
    engine.prepareRoute!(A, B); // the picker highlights lab-b
    await waitFor(sshdRuns, 15_000);
    const readied = { a: await imageDirs(A), b: await imageDirs(B) };
    assert.ok(readied.a && readied.b, 'an image directory waits on each host');

    const result = await engine.migrate({ pid, from: A, to: B, strategy: 'stop-and-copy' });
    assert.equal(result.ok, true, result.error);
    cleanup.push(() => kill(B, result.destinationPid!));
    assert.ok(lines.some((l) => l.includes('readied while the destination was picked')), 'the migration took the readied way');
    assert.match(result.transfer ?? '', /direct lab-a → lab-b over OpenSSH/);
    assert.ok(result.bytes > 64 * 1024 * 1024, 'the tunnel readied before the migration counted its bytes for it');
    await assertIntact(tag, result.destinationPid!, before);
    assert.equal(await imageDirs(A), '');
    assert.equal(await imageDirs(B), '');
    await assertNoTunnelLeft();

    // The user looked at lab-b and cancelled: what was readied goes with the engine.
    engine.prepareRoute!(A, B);
    await waitFor(sshdRuns, 15_000);
    await engine.dispose();
    assert.equal(await imageDirs(A), '');
    assert.equal(await imageDirs(B), '');
    await assertNoTunnelLeft();
  });

  it('stop-and-copy of a large process: the memory goes straight into the copy, held stopped until it is all in, and says so', async () => {
    const tag = 'into-process';
    const { pid, before } = await startMemoryHolder(tag, 1024);
    const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json']);
    assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
    assert.equal(result.json.strategy, 'stop-and-copy');
    const option = result.json.options.find((o: { option: string }) => o.option === 'restore --lazy-pages --leave-stopped');
    assert.match(option?.reason ?? '', /holds 10\d\d MiB: its memory goes straight into the restored copy/);
    assert.equal(typeof result.json.phases.memory, 'number', 'the memory moved as its own phase, frozen');
    cleanup.push(() => kill(B, result.json.destinationPid));
    await assertIntact(tag, result.json.destinationPid, before);
    assert.equal(await onHost(A, `[ -e /proc/${pid} ] && echo there || echo gone`), 'gone', 'the source went once the copy ran');
    assert.equal(await imageDirs(A), '');
    assert.equal(await imageDirs(B), '');
    await assertNoTunnelLeft();
  });

  it('stop-and-copy into a held copy whose pages stop on the way: the copy never ran and goes, the source runs on intact', async () => {
    // lab-b's lazy-pages daemon dies as soon as the restore returned, its pages far from all in.
    const dropping = `if [ "$1" = restore ]; then
  /tmp/criu-real "$@"; rc=$?
  pkill -KILL -f '^/tmp/criu-real lazy-pages'
  exit $rc
fi
exec /tmp/criu-real "$@"`;
    await withCriuWrapper(B, dropping, async () => {
      const tag = 'held-fails';
      const { pid, before } = await startMemoryHolder(tag, 1024);
      const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', 'stop-and-copy', '--json']);
      assert.notEqual(result.code, 0);
      assert.equal(result.json?.ok, false, result.stdout + result.stderr);
      assert.match(result.json.error, /^Moving the memory from lab-a to lab-b failed \(.+\); the copy there had not run yet, so the process keeps running on lab-a with nothing lost\.$/);
      assert.equal(result.json.rolledBack, true);
      assert.equal(await onHost(A, `cut -d' ' -f3 /proc/${pid}/stat`), 'S', 'the source runs again');
      await assertIntact(tag, pid, before, A);
      assert.equal(await onHost(B, `pgrep -f '^/usr/bin/python3 /tmp/e2e-${tag}.py' || true`), '', 'no copy is left on lab-b');
      for (const host of [A, B]) assert.equal(await onHost(host, 'pgrep -c -f "criu(-real)? " || true'), '0', `a CRIU process is left on ${host}`);
      assert.equal(await imageDirs(A), '');
      assert.equal(await imageDirs(B), '');
    });
  });
});
