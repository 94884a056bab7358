// Kinds of kernel state (preflightKinds.ts), on a real inspection of a process holding each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriuEngine } from '../../src/checkpoint/criu';
import type { ProcessInspection } from '../../src/helper/inspection';
import { traitsOf } from '../../src/migration/preflight';
import {
  cutUnixConnections,
  datagramPeersOf,
  ghostFiles,
  ghostLimit,
  kindProblems,
  nodesToMake,
  ownPtys,
  pidfdProblems,
  ptyIndexOfTtyNr,
  ptyProblems,
  rlimitProblem,
  zombieProblems,
} from '../../src/migration/preflightKinds';
import { inspection } from './fixtures';

const PID = 504381;
/** The fixture without its zombie child, for the rules a zombie would hide. */
function living(): ProcessInspection {
  const i = inspection('kinds');
  return { ...i, tasks: i.tasks.filter((t) => t.state !== 'Z') };
}

describe('preflight kinds', () => {
  it('parses the pty masters, pidfds, deleted files, FIFO, held symlink and unix peers', () => {
    const i = inspection('kinds');
    assert.deepEqual(i.ptyMasters, [{ pid: PID, fd: 3, index: 0 }, { pid: 504559, fd: 3, index: 0 }]);
    assert.deepEqual(i.pidfds, [{ pid: PID, fd: 5, target: 504559 }, { pid: PID, fd: 6, target: 504122 }]);
    assert.equal(i.selfCapEff, 0x1fffeffffffn);
    assert.deepEqual(i.nodes.map((n) => [n.kind, n.path, n.mode ?? n.linkTarget]), [['symlink', '/tmp/pmfx-link', '/etc/hostname'], ['fifo', '/tmp/pmfx-fifo', '640']]);
    assert.deepEqual(i.unixPeers.get(1502038), { type: 'u_str', peer: 1501286, name: undefined });
    assert.equal(i.unixPeers.get(1501286)?.name, '/tmp/pmfx-sock');
  });

  it('a zombie in the tree is refused alone, naming its parent; a zombie target says there is nothing left', () => {
    assert.deepEqual(kindProblems(inspection('kinds'), 'lab-a'), zombieProblems(inspection('kinds'), 'lab-a'));
    assert.match(zombieProblems(inspection('kinds'), 'lab-a')[0], /^Process 504560 \(python3\) on lab-a, a child of process 504381 in the tree, has exited .*a zombie/);
    const i = inspection('kinds');
    const zombie = { ...i, tasks: i.tasks.filter((t) => t.state === 'Z') };
    assert.deepEqual(zombieProblems(zombie, 'lab-a'), [
      'Process 504560 on lab-a has already exited (a zombie, waiting for its parent 504381 to collect its exit status): there is nothing left to migrate.',
    ]);
    assert.deepEqual(zombieProblems(living(), 'lab-a'), []);
  });

  it('another user’s process: refused only where root lacks CAP_SYS_RESOURCE (bit 24)', () => {
    const i = living();
    const foreign = { ...i, tasks: i.tasks.map((t) => ({ ...t, uid: 999 })) };
    assert.equal(rlimitProblem(i, 'lab-a'), undefined, 'own processes');
    // The lab's root has all capabilities but this one (0x1fffeffffff).
    assert.equal(rlimitProblem({ ...foreign, selfCapEff: 0x1ffffffffffn }, 'lab-a'), undefined, 'with the capability');
    const without = foreign;
    assert.equal(
      rlimitProblem(without, 'lab-a'),
      "Process 504381 (python3) on lab-a belongs to uid 999, and CRIU, running as uid 0 there without CAP_SYS_RESOURCE, cannot read the resource limits of another user's process; migrate it as its owner (uid 999), or give root CAP_SYS_RESOURCE on lab-a.",
    );
    assert.equal(rlimitProblem({ ...without, selfUid: 5 }, 'lab-a'), undefined, 'as a user, the owner check speaks');
  });

  it('a pidfd for a process outside the tree is refused; one for a child of the tree is not', () => {
    assert.deepEqual(pidfdProblems(living(), 'lab-a'), [
      'Process 504381 (python3) on lab-a holds a pidfd (descriptor 6) for process 504122, which is not in the migrated tree and stays on lab-a, and a pidfd can only move with the process it refers to; it can only be migrated once it has closed it.',
    ]);
  });

  it('its own pty pair is no terminal: no --shell-job; its number must be free on the destination', () => {
    const i = living();
    assert.deepEqual([...ownPtys(i)], [0]);
    assert.equal(traitsOf(i, 'lab-a').shellJob, undefined);
    assert.equal(traitsOf(i, 'lab-a').terminal, undefined);
    assert.deepEqual(ptyProblems(i, [1, 2], 'lab-b'), []);
    assert.match(ptyProblems(i, [0], 'lab-b')[0], /^The process holds the pty \/dev\/pts\/0 it opened itself, .* on lab-b, where \/dev\/pts\/0 is in use; /);
    // The terminal of a shell job still is one.
    assert.ok(traitsOf(inspection('ttyJob'), 'lab-a').terminal);
    assert.equal(ptyIndexOfTtyNr(34816 + 3), 3); // 136:3
    assert.equal(ptyIndexOfTtyNr(1025), undefined); // 4:1, /dev/tty1
  });

  it('deleted files: one per path (open and mapped), --ghost-limit above CRIU’s 1 MiB only when needed', () => {
    const i = living();
    assert.deepEqual(ghostFiles(i), [{ path: '/tmp/pmfx-del', bytes: 2502656 }, { path: '/tmp/pmfx-map', bytes: 102400 }]);
    const ghost = ghostLimit(i);
    assert.equal(ghost?.bytes, 4 << 20); // 2.4 MiB + 1 MiB, in whole MiB
    assert.match(ghost?.reason ?? '', /^it holds 2 deleted files \(2\.5 MiB in all\), the largest \/tmp\/pmfx-del \(2\.4 MiB\)/);
    const small = { ...i, deleted: i.deleted.filter((d) => d.path.includes('map')) };
    assert.equal(ghostLimit(small), undefined);
    const plan = new CriuEngine().plan(traitsOf(i, 'lab-a'));
    assert.ok(plan.dump.some((o) => o.option === `--ghost-limit=${4 << 20}`));
  });

  it('a FIFO and a held symlink missing on the destination are made there, and no longer "missing"', () => {
    const check = '/tmp/pmfx-fifo\tmissing\n/tmp/pmfx-link\tmissing\n/srv/data\tmissing';
    const { remaining, nodes } = nodesToMake(check, living(), 'lab-b');
    assert.equal(remaining, '/srv/data\tmissing');
    assert.deepEqual(nodes.map((n) => [n.kind, n.path, n.owner, n.mode ?? n.linkTarget]), [['symlink', '/tmp/pmfx-link', '0:0', '/etc/hostname'], ['fifo', '/tmp/pmfx-fifo', '0:0', '640']]);
    const plan = new CriuEngine().plan({ nodes });
    assert.deepEqual(plan.restore.map((o) => o.option).slice(2), ['ln -s /etc/hostname /tmp/pmfx-link', 'mkfifo -m 640 /tmp/pmfx-fifo']);
  });

  it('a unix stream connection to a process outside is cut; the socket pair inside is not', () => {
    const cut = cutUnixConnections(living(), 'lab-a', 'lab-b');
    assert.deepEqual(cut.map((c) => [c.resource, c.mode]), [['socket:[1502038]', 'socket']]);
    assert.match(cut[0].reason, /^descriptor 11 of process 504381 \(python3\) is a unix socket connected to a process that stays on lab-a \(\/tmp\/pmfx-sock\)/);
    assert.deepEqual(cutUnixConnections(living(), 'lab-a', 'lab-b', new Set([1501286])), [], 'the server moves in the same batch');
    const plan = new CriuEngine().plan({ substitutes: cut });
    assert.ok(plan.dump.some((o) => o.option === '--external=unix[1502038]'));
    assert.ok(plan.restore.some((o) => o.option === '--inherit-fd fd[4]:socket:[1502038]'));
  });

  it('a datagram socket to a named receiver outside moves with --ext-unix-sk (the receiver needed on the destination); to an unnamed one it is refused', () => {
    const i = living();
    const peers = new Map(i.unixPeers);
    peers.set(1502039, { type: 'u_dgr', peer: 777, name: undefined });
    peers.set(777, { type: 'u_dgr', peer: 0, name: '/dev/log' });
    const named = datagramPeersOf({ ...i, unixPeers: peers }, 'lab-a', 'lab-b');
    assert.deepEqual(named.problems, []);
    assert.equal(named.reason, 'it sends datagrams to /dev/log (a process that stays on lab-a): on lab-b its socket is connected to the receiver at the same path there');
    assert.ok(new CriuEngine().plan({ datagramPeers: named.reason }).restore.some((o) => o.option === '--ext-unix-sk'));
    peers.set(777, { type: 'u_dgr', peer: 0, name: undefined });
    assert.match(datagramPeersOf({ ...i, unixPeers: peers }, 'lab-a', 'lab-b').problems[0], /^Descriptor 12 of process 504381 on lab-a is a datagram unix socket connected to an unnamed socket/);
  });
});
