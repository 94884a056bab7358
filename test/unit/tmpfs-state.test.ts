// Files on tmpfs (POSIX shared memory, /run/user/UID) are per-host state that travels with the
// process: which files they are, what the hosts said about them, and the sentences and report
// lines made of it, over real helper output (test/unit/fixtures).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mountOf, parseInspection, type ProcessInspection } from '../../src/helper/inspection';
import { carriedTmpfsOptions, parseTmpfsStat, tmpfsCandidates, tmpfsProblems, type TmpfsFile } from '../../src/migration/preflight';
import { fixture, inspection } from './fixtures';

const SHM = '/dev/shm/psm_d8be79eb';

describe('mount table of the inspection', () => {
  it('reads the mount lines: the last mount on a point hides the earlier ones', () => {
    const { mounts } = inspection('pythonShm');
    assert.ok(mounts.length > 10);
    assert.deepEqual(mountOf(SHM, mounts), { mountPoint: '/dev/shm', fsType: 'tmpfs' });
    assert.deepEqual(mountOf('/dev/null', mounts), { mountPoint: '/dev', fsType: 'devtmpfs' });
    assert.deepEqual(mountOf('/usr/lib/x86_64-linux-gnu/libc.so.6', mounts), { mountPoint: '/', fsType: 'ext4' });
    assert.deepEqual(mountOf('/dev/shmx', mounts), { mountPoint: '/dev', fsType: 'devtmpfs' }, 'a prefix of a name is not its directory');
  });

  it('decodes mountinfo escapes in mount points', () => {
    const { mounts } = parseInspection(1, 'exists=1\nmount\t/mnt/with\\040space\ttmpfs\n');
    assert.deepEqual(mounts, [{ mountPoint: '/mnt/with space', fsType: 'tmpfs' }]);
  });

  it('older inspections without mount lines have none', () => {
    assert.deepEqual(inspection('sleep').mounts, []);
  });
});

describe('tmpfsCandidates', () => {
  it('the shared block of multiprocessing.shared_memory, mapped and open in every worker, once', () => {
    assert.deepEqual(tmpfsCandidates(inspection('pythonShm')), [SHM]);
  });

  it('nothing for a process without tmpfs files', () => {
    assert.deepEqual(tmpfsCandidates(inspection('sleep')), []);
    assert.deepEqual(tmpfsCandidates(inspection('python')), []);
  });

  const withFiles = (mounts: ProcessInspection['mounts'], fds: { target: string; flags?: number }[]): ProcessInspection => ({
    ...inspection('sleep'),
    mounts,
    fds: fds.map((f, i) => ({ pid: 27764, fd: 3 + i, flags: f.flags ?? 0o100002, target: f.target })),
  });

  it('any tmpfs counts, found by its type: /run/user/UID, a tmpfs /tmp', () => {
    const i = withFiles(
      [{ mountPoint: '/', fsType: 'ext4' }, { mountPoint: '/run/user/1000', fsType: 'tmpfs' }, { mountPoint: '/tmp', fsType: 'tmpfs' }, { mountPoint: '/srv', fsType: 'ext4' }],
      [{ target: '/run/user/1000/app/state.db' }, { target: '/tmp/build.lock' }, { target: '/srv/data' }],
    );
    assert.deepEqual(tmpfsCandidates(i), ['/run/user/1000/app/state.db', '/tmp/build.lock']);
  });

  it('leaves out deleted files (CRIU carries them), directories, and a tmpfs root (the system itself)', () => {
    const shm = [{ mountPoint: '/', fsType: 'ext4' }, { mountPoint: '/dev/shm', fsType: 'tmpfs' }];
    assert.deepEqual(tmpfsCandidates(withFiles(shm, [{ target: '/dev/shm/gone (deleted)' }, { target: '/dev/shm', flags: 0o200000 }, { target: '/dev/shm/sub', flags: 0o200000 }])), []);
    assert.deepEqual(tmpfsCandidates(withFiles([{ mountPoint: '/', fsType: 'tmpfs' }], [{ target: '/usr/bin/app' }])), []);
  });
});

describe('parseTmpfsStat', () => {
  it('reads size, space in use, mode and owner; drops files gone since; names sharers outside the tree', () => {
    const { files, sharers } = parseTmpfsStat(fixture('tmpfs-stat-python-shm.txt'), inspection('pythonShm'));
    assert.deepEqual(files, [{ path: SHM, mount: '/dev/shm', size: 1 << 20, allocated: 4096, mode: '600', uid: 0, gid: 0 }]);
    assert.deepEqual(sharers, [{ path: SHM, pid: 165841, comm: 'python3' }]);
  });
});

const file = (path: string, overrides: Partial<TmpfsFile> = {}): TmpfsFile => ({ path, mount: '/dev/shm', size: 1 << 20, allocated: 4096, mode: '600', uid: 0, gid: 0, ...overrides });

describe('tmpfsProblems', () => {
  it('a free path on the destination with room: no problem', () => {
    assert.deepEqual(tmpfsProblems([file(SHM)], [], `${SHM}\tfree\t2097152\t/dev/shm\n`, 'lab-a', 'lab-b'), []);
  });

  it('shared with a process that stays behind', () => {
    const { files, sharers } = parseTmpfsStat(fixture('tmpfs-stat-python-shm.txt'), inspection('pythonShm'));
    assert.deepEqual(tmpfsProblems(files, sharers, '', 'lab-a', 'lab-b'), [
      `${SHM}, POSIX shared memory of the process, is also used by process 165841 (python3) on lab-a, which would stay behind and no longer share it; stop it, or migrate a process tree that holds all of them, and retry.`,
    ]);
  });

  it('what the destination said (real tmpfs-check output): taken, no directory, not a tmpfs', () => {
    const files = [file(SHM), file('/dev/shm/pmfx-taken'), file('/run/user/0/pmfx', { mount: '/run/user/0' }), file('/tmp/pmfx', { mount: '/tmp' })];
    assert.deepEqual(tmpfsProblems(files, [], fixture('tmpfs-check.txt'), 'lab-a', 'lab-b'), [
      "/dev/shm/pmfx-taken already exists on lab-b (another process's POSIX shared memory?), and the process's own copy from lab-a would overwrite it; remove it on lab-b if nothing uses it, or migrate to another host.",
      "/run/user/0, where the process's /run/user/0/pmfx belongs, does not exist on lab-b; create it there with the same owner and mode as on lab-a (for /run/user/UID: log in there as that user), and retry.",
      "/tmp is not on tmpfs on lab-b (it is ext2/ext3), so the process's /tmp/pmfx, memory on lab-a, would be written to disk there; migrate to a host where it is a tmpfs, as on lab-a.",
    ]);
  });

  it('no room on the destination tmpfs: counts the space in use, not the holes', () => {
    const files = [file('/dev/shm/a', { allocated: 3 << 20 }), file('/dev/shm/b', { size: 1 << 30, allocated: 2 << 20 })];
    const check = '/dev/shm/a\tfree\t4096\t/dev/shm\n/dev/shm/b\tfree\t4096\t/dev/shm\n';
    assert.deepEqual(tmpfsProblems(files, [], check, 'lab-a', 'lab-b'), [
      "lab-b has 4.0 MiB free in /dev/shm but the process's files there (/dev/shm/a, /dev/shm/b) take 5.0 MiB; free some space in /dev/shm on lab-b, or migrate to another host.",
    ]);
    assert.deepEqual(tmpfsProblems(files.slice(1), [], check, 'lab-a', 'lab-b'), [], 'a sparse 1 GiB block with 2 MiB in use fits');
  });
});

describe('carriedTmpfsOptions', () => {
  it('says what travels and why', () => {
    assert.deepEqual(carriedTmpfsOptions([file(SHM), file('/run/user/1000/x', { mount: '/run/user/1000', size: 2048, allocated: 4096, mode: '644', uid: 1000 })], 'lab-a', 'lab-b'), [
      {
        option: `carry ${SHM} (1.0 MiB, 4.0 KiB of it in use)`,
        reason: 'POSIX shared memory is per host: it travels with the images to the same path on lab-b (owner uid 0, mode 0600), in place before the restore, and leaves lab-a after the move',
      },
      {
        option: 'carry /run/user/1000/x (2.0 KiB)',
        reason: 'A file on the tmpfs /run/user/1000 is per host: it travels with the images to the same path on lab-b (owner uid 1000, mode 0644), in place before the restore, and leaves lab-a after the move',
      },
    ]);
  });
});
