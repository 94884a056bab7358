// POSIX shared memory is per-host state: a Python program whose two workers count into a
// multiprocessing.shared_memory block (a file in lab-a's own /dev/shm) moves to lab-b with no
// options, its block with it; a failed move leaves no block on lab-b and the source counting
// in its own; a block of the same name already on lab-b is never overwritten.
//
// multiprocessing starts a resource_tracker process (the one that unlinks leaked blocks) as a
// child of the program: it is part of the tree and moves with it, so nothing on lab-a unlinks
// the block behind the process's back, and on lab-b it still tracks the block.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { cli, kill, onHost, procmig, sshConfig, stateOf, useLab, waitFor } from './support/lab';
import { advancing, counters, startCounters as startShmCounters } from './support/shmCounters';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

const exists = async (host: string, file: string) => (await onHost(host, `if [ -e ${file} ]; then echo yes; else echo no; fi`)) === 'yes';
const metadata = (host: string, file: string) => onHost(host, `stat -c '%a %u %g %s' ${file}`);

const startCounters = (tag: string, holdOpen: string[] = []) => startShmCounters(A, B, cleanup, tag, holdOpen);

/** No image directory of this process's migration is left on `host` (other helpers' migrations
 * may run on the lab meanwhile: theirs hold the cores of other PIDs). */
const noImages = async (host: string, pid: number) =>
  (await onHost(host, `ls -d /var/tmp/process-migrator/img.*/core-${pid}.img /var/tmp/process-migrator/img.*/*/core-${pid}.img 2>/dev/null | wc -l`)) === '0';

describe('POSIX shared memory moves with the process', () => {
  it('two workers counting in /dev/shm move to lab-b with no options: the block is there with its mode and owner, the counts go on from where they were, and lab-a has no block left', async () => {
    const { pid, shm } = await startCounters('e2e-shm-move');
    const meta = await metadata(A, shm);
    const before = await counters(A, shm);

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.json?.ok, true, r.stdout + r.stderr);
    const moved = r.json.destinationPid as number;
    const carry = (r.json.options as { option: string; reason: string }[]).find((o) => o.option.startsWith(`carry ${shm} (`));
    assert.ok(carry, `the report names the block: ${JSON.stringify(r.json.options)}`);
    assert.match(carry.option, /\(1\.0 MiB, 4\.0 KiB of it in use\)$/);
    assert.match(carry.reason, /^POSIX shared memory is per host: it travels with the images to the same path on lab-b \(owner uid 0, mode 0600\)/);

    assert.equal(await metadata(B, shm), meta, 'same mode, owner and size on lab-b');
    const atArrival = await counters(B, shm);
    assert.equal(atArrival.length, 2);
    assert.ok(atArrival.every((n, i) => n >= before[i]), `the counts go on from lab-a's (${before} → ${atArrival}), not from 0`);
    await advancing(B, shm, atArrival);
    assert.equal(await stateOf(B, moved), 'running');
    // The workers and the resource tracker moved with it.
    assert.equal(Number(await onHost(B, `ps -o pid= --ppid ${moved} | wc -l`)), 3, 'two workers and the resource_tracker run under it on lab-b');

    assert.equal(await stateOf(A, pid), 'gone');
    assert.equal(await exists(A, shm), false, 'the block is gone from lab-a');
    assert.ok(await noImages(A, pid));
    assert.ok(await noImages(B, pid));
    await kill(B, moved);
  });

  it('a failed restore on lab-b leaves no block there, and the source counting in its own block', async () => {
    // The program also holds open a file that lab-b has with other permissions: CRIU's restore
    // fails there, after the block has been put in place (the preflight compares sizes only).
    const key = '/tmp/e2e-shm-rollback.key';
    await onHost(A, `printf secret > ${key}; chmod 644 ${key}`);
    await onHost(B, `printf secret > ${key}; chmod 600 ${key}`);
    cleanup.push(async () => void (await onHost(A, `rm -f ${key}`)), async () => void (await onHost(B, `rm -f ${key}`)));
    const { pid, shm } = await startCounters('e2e-shm-rollback', [key]);
    const meta = await metadata(A, shm);

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(r.code, 0);
    assert.equal(r.json?.ok, false, r.stdout + r.stderr);
    assert.match(r.json.error, /\/tmp\/e2e-shm-rollback\.key on lab-b has other permissions/);
    assert.doesNotMatch(r.json.error, /\n/);
    assert.equal(r.json.rolledBack, true);
    assert.ok(r.json.phases.restore !== undefined, 'it failed in the restore, after the transfer');

    assert.equal(await exists(B, shm), false, 'no block left on lab-b');
    assert.equal(await stateOf(A, pid), 'running');
    assert.equal(await metadata(A, shm), meta, "the source's block is intact");
    await advancing(A, shm, await counters(A, shm));
    assert.ok(await noImages(A, pid));
    assert.ok(await noImages(B, pid));
  });

  it('a block of the same name already on lab-b (another process\'s) is not overwritten: refused before the freeze', async () => {
    const { pid, shm } = await startCounters('e2e-shm-taken');
    await onHost(B, `printf theirs > ${shm}`);

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(r.code, 0);
    assert.equal(
      r.json?.error,
      `${shm} already exists on lab-b (another process's POSIX shared memory?), and the process's own copy from lab-a would overwrite it; remove it on lab-b if nothing uses it, or migrate to another host.`,
      r.stdout + r.stderr,
    );
    assert.equal(r.json.phases.dump, undefined, 'never frozen');
    assert.equal(await onHost(B, `cat ${shm}`), 'theirs', "lab-b's file is untouched");
    assert.equal(await stateOf(A, pid), 'running');
    await advancing(A, shm, await counters(A, shm));
  });

  it('this machine goes away before the commit, the block on lab-b: lab-b\'s guard removes it, and the source runs on with its own', async () => {
    const { pid, shm } = await startCounters('e2e-shm-orphaned');
    // SIGKILL procmig once the restored copy runs on lab-b, before the commit: the block is in place there.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'migrate', String(pid), '--from', A, '--to', B, '--ssh-config', sshConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
      let seen = '';
      child.stderr.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/^verify:/m.test(seen)) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`procmig ended (${code}) before the verify:\n${seen}`))));
    });
    await waitFor(async () => (await stateOf(A, pid)) === 'running' && !(await exists(B, shm)) && (await noImages(B, pid)), 20_000).catch(() => undefined);
    assert.equal(await stateOf(A, pid), 'running', 'the source was resumed');
    assert.equal(await exists(B, shm), false, 'no block left on lab-b');
    assert.ok(await noImages(B, pid));
    await advancing(A, shm, await counters(A, shm));
  });
});
