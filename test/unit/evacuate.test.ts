// Evacuation over a fake engine: which processes count as the user's work, one batch per
// destination, and the processes that cannot move named with their reasons, never frozen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchRequest, BatchResult, MigrationResult, Placement, ProcessInfo } from '../../src/migration/api';
import { createEngine } from '../../src/migration/engine';
import { bringBackRequests, evacuate, migratableRoots, type EvacuationDeps } from '../../src/migration/automatic/evacuate';
import { RecordingCheckpoint, ScriptedHost } from './fakes/sessionFakes';
import { fixture, PIDS } from './fixtures';

function proc(pid: number, ppid: number, command: string, user = 'dev', extra: Partial<ProcessInfo> = {}): ProcessInfo {
  const name = extra.name ?? command.split(' ')[0].split('/').pop()!;
  return { pid, ppid, user, uid: user === 'root' ? 0 : 1000, cpu: 0, rssKiB: 1000, name, command, state: 'S', ...extra };
}

/** A host: tini → a supervisor → sshd → a session → bash → work; tmux with a pane; the helper. */
const HOST: ProcessInfo[] = [
  proc(1, 0, 'tini -- sh lab.sh __init lab-a', 'root'),
  proc(2, 0, '', 'root', { name: 'kthreadd' }),
  proc(3, 2, '', 'root', { name: 'kworker/0:1' }),
  proc(10, 1, 'sh lab.sh __init lab-a', 'root'),
  proc(11, 10, '/usr/sbin/sshd -D', 'root', { name: 'sshd' }),
  proc(20, 11, 'sshd: dev@pts/0', 'root', { name: 'sshd' }),
  proc(21, 20, 'sshd: dev@pts/0', 'dev', { name: 'sshd' }),
  proc(22, 21, '-bash', 'dev', { name: 'bash' }),
  proc(23, 22, 'python3 train.py', 'dev', { name: 'python3' }),
  proc(24, 23, 'python3 train.py --worker', 'dev', { name: 'python3' }),
  proc(30, 1, 'tmux new -d', 'dev', { name: 'tmux: server' }),
  proc(31, 30, '-bash', 'dev', { name: 'bash' }),
  proc(32, 31, 'node server.js', 'dev', { name: 'node' }),
  proc(33, 30, '-bash', 'dev', { name: 'bash' }),
  proc(40, 1, 'sh -c i=0; while :; do …; done', 'dev', { name: 'sh' }),
  proc(41, 40, 'sleep 0.1', 'dev', { name: 'sleep' }),
  proc(50, 21, 'sh -c f="${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/helper-0123456789ab.sh"; exec sh "$f" "$@" procmig-helper ps', 'dev', { name: 'sh' }),
  proc(51, 50, 'ps -eo pid=', 'dev', { name: 'ps' }),
  proc(60, 1, '/lib/systemd/systemd --user', 'dev', { name: 'systemd' }),
  proc(61, 60, '/usr/bin/pipewire', 'dev', { name: 'pipewire' }),
  proc(62, 60, '/usr/bin/dbus-daemon --session', 'dev', { name: 'dbus-daemon' }),
  proc(70, 1, 'redis-server', 'other', { name: 'redis-server' }),
  proc(80, 1, '[defunct]', 'dev', { name: 'zombie', state: 'Z' }),
  proc(90, 21, 'sh /home/dev/.vscode-server/bin/x/server.sh', 'dev', { name: 'sh' }),
  proc(91, 90, 'node /home/dev/.vscode-server/bin/x/out/server-main.js', 'dev', { name: 'node' }),
];

describe('migratableRoots', () => {
  it("picks the roots of the user's work and leaves out sessions, servers, the helper, services and other users'", () => {
    assert.deepEqual(migratableRoots(HOST, 'dev').sort((a, b) => a - b), [23, 32, 40]);
  });

  it("as root, the host's init chain and sshd stay; children of a systemd PID 1 are services", () => {
    assert.deepEqual(migratableRoots(HOST, 'root'), []);
    const systemdHost = [proc(1, 0, '/sbin/init', 'root', { name: 'systemd' }), proc(5, 1, '/usr/sbin/rsyslogd', 'root', { name: 'rsyslogd' }), proc(6, 1, '/usr/sbin/sshd', 'root', { name: 'sshd' }), proc(7, 6, 'sshd: root@pts/0', 'root', { name: 'sshd' }), proc(8, 7, '-bash', 'root', { name: 'bash' }), proc(9, 8, 'make -j2', 'root', { name: 'make' })];
    assert.deepEqual(migratableRoots(systemdHost, 'root'), [9]);
    const tiniHost = [proc(1, 0, 'tini', 'root'), proc(10, 1, 'sh lab.sh __init', 'root', { name: 'sh' }), proc(11, 10, 'sshd', 'root'), proc(12, 1, 'sh -c ticker', 'root', { name: 'sh' })];
    assert.deepEqual(migratableRoots(tiniHost, 'root'), [12]);
  });

  it('on this machine, the program running the engine stays, with its tree up to its session', () => {
    const local = [
      proc(1, 0, 'systemd', 'root', { name: 'systemd' }),
      proc(100, 1, '/usr/share/code/code', 'dev', { name: 'code' }),
      proc(101, 100, '/usr/share/code/code --type=renderer', 'dev', { name: 'code' }),
      proc(102, 100, '/usr/share/code/code --type=utility extensionHost', 'dev', { name: 'code' }),
      proc(103, 102, 'python3 app.py', 'dev', { name: 'python3' }),
      proc(200, 1, 'sshd', 'root', { name: 'sshd' }),
      proc(201, 200, '-bash', 'dev', { name: 'bash' }),
      proc(202, 201, 'node procmig.js evacuate local', 'dev', { name: 'node' }),
      proc(203, 201, 'make', 'dev', { name: 'make' }),
    ];
    assert.deepEqual(migratableRoots(local, 'dev', 102), [202, 203]);
    assert.deepEqual(migratableRoots(local, 'dev', 202), [100, 203]);
  });
});

function result(pid: number, from: string, to: string, outcome: 'ok' | 'preflight' | 'rolled-back'): MigrationResult {
  const frozen = outcome !== 'preflight';
  return {
    ok: outcome === 'ok',
    from,
    to,
    sourcePid: pid,
    ...(outcome === 'ok' ? { destinationPid: pid } : {}),
    strategy: 'stop-and-copy',
    strategyReason: '',
    phases: frozen ? { preflight: 5, dump: 10 } : { preflight: 5 },
    freezeMs: frozen ? 20 : 0,
    totalMs: 30,
    bytes: frozen ? 100 : 0,
    options: [],
    startedAt: new Date(0).toISOString(),
    ...(outcome === 'preflight' ? { error: `Process ${pid} holds /tmp/x, which lab-b does not have.`, rolledBack: true } : {}),
    ...(outcome === 'rolled-back' ? { error: 'The restore failed.', rolledBack: true } : {}),
  };
}

function fakeDeps(outcomes: Record<number, 'ok' | 'preflight' | 'rolled-back'>, placements: Record<number, string | undefined> = {}) {
  const batches: BatchRequest[] = [];
  const deps: EvacuationDeps = {
    listProcesses: async () => HOST,
    whoOn: async () => ({ user: 'dev' }),
    migrateMany: async (request): Promise<BatchResult> => {
      batches.push(request);
      const processes = request.pids.map((pid) => result(pid, request.from, request.to, outcomes[pid] ?? 'ok'));
      return { ok: processes.every((p) => p.ok), from: request.from, to: request.to, freezeMs: 20, totalMs: 30, bytes: 0, processes };
    },
    place: async ({ pid }): Promise<Placement> => {
      const to = placements[pid];
      return to ? { to, reason: `${to} has the most headroom.`, candidates: [] } : { reason: 'No host has room: lab-b has 10 MiB available, process needs 2 GiB.', candidates: [] };
    },
  };
  return { deps, batches };
}

describe('evacuate', () => {
  it('moves the chosen processes to one host in one batch; one that fails its preflight is left, with its reason', async () => {
    const { deps, batches } = fakeDeps({ 40: 'preflight' });
    const r = await evacuate(deps, { from: 'lab-a', to: 'lab-b', pids: [23, 32, 40, 999] });
    assert.deepEqual(batches, [{ pids: [23, 32, 40], from: 'lab-a', to: 'lab-b', strategy: undefined }]);
    assert.equal(r.ok, true);
    assert.deepEqual(r.processes.map((p) => [p.sourcePid, p.ok, p.trigger]), [[23, true, 'evacuation of lab-a'], [32, true, 'evacuation of lab-a']]);
    assert.deepEqual(r.left, [
      { pid: 999, name: '', reason: 'Process 999 does not run on lab-a.' },
      { pid: 40, name: 'sh', reason: 'Process 40 holds /tmp/x, which lab-b does not have.' },
    ]);
  });

  it('auto: each goes where placement puts it, one batch per destination; nowhere to go means left, never migrated', async () => {
    const { deps, batches } = fakeDeps({}, { 23: 'lab-b', 32: 'lab-c', 40: 'lab-b' });
    const r = await evacuate(deps, { from: 'lab-a' });
    assert.deepEqual(batches.map((b) => [b.to, b.pids]).sort(), [['lab-b', [23, 40]], ['lab-c', [32]]]);
    assert.deepEqual(r.processes.map((p) => [p.sourcePid, p.to]).sort(), [[23, 'lab-b'], [32, 'lab-c'], [40, 'lab-b']]);
    assert.deepEqual(r.left, []);

    const nowhere = fakeDeps({}, { 23: 'lab-b' });
    const r2 = await evacuate(nowhere.deps, { from: 'lab-a', to: 'auto' });
    assert.deepEqual(nowhere.batches.map((b) => b.pids), [[23]]);
    assert.deepEqual(r2.left.map((l) => [l.pid, l.reason]), [
      [32, 'No host has room: lab-b has 10 MiB available, process needs 2 GiB.'],
      [40, 'No host has room: lab-b has 10 MiB available, process needs 2 GiB.'],
    ]);
  });

  it('a process that failed after its freeze (rolled back) is a failed move, not a left one', async () => {
    const { deps } = fakeDeps({ 32: 'rolled-back' });
    const r = await evacuate(deps, { from: 'lab-a', to: 'lab-b' });
    assert.equal(r.ok, false);
    assert.deepEqual(r.left, []);
    assert.match(r.error ?? '', /^Process 32: The restore failed\.$/);
  });

  it('without placement, auto names a destination to give', async () => {
    const { deps } = fakeDeps({});
    const r = await evacuate({ ...deps, place: undefined }, { from: 'lab-a', pids: [23] });
    assert.match(r.left[0].reason, /name a destination with --to/);
  });
});

describe('bringBackRequests', () => {
  it('groups the moved processes by where they run now, each back home under its new PID', () => {
    const moved = [result(23, 'lab-a', 'lab-b', 'ok'), result(32, 'lab-a', 'lab-c', 'ok'), result(40, 'lab-a', 'lab-b', 'ok'), result(41, 'lab-a', 'lab-b', 'rolled-back')];
    moved[0].destinationPid = 123;
    assert.deepEqual(bringBackRequests(moved), [
      { pids: [123, 40], from: 'lab-b', to: 'lab-a' },
      { pids: [32], from: 'lab-c', to: 'lab-a' },
    ]);
  });
});

describe('Engine.evacuate over the real batch machinery (fake hosts)', () => {
  it('a process whose preflight fails is left with its reason and never dumped; the others move', async () => {
    const hosts = new Map(['lab-a', 'lab-b'].map((name) => [name, new ScriptedHost(name)]));
    for (const host of hosts.values()) {
      host.answers.caps = fixture('caps.txt');
      host.answers.ps = ['100 1 0 root 0.0 1800 S ? sleep 3600', '200 1 0 root 0.0 1800 S ? sleep 3600'].join('\n') + '\n--\n100 sleep\n200 sleep\n';
      host.respond = ([command, pid]) => (command !== 'inspect' ? undefined : pid === '200' ? 'exists=0\n' : fixture('inspect-sleep.txt').replaceAll(String(PIDS.sleep), pid));
    }
    const checkpoint = new RecordingCheckpoint();
    const engine = createEngine({}, checkpoint, () => ({ get: async (name) => hosts.get(name)!, close: async () => undefined, onConnectionChange: () => () => undefined }));
    const r = await engine.evacuate!({ from: 'lab-a', to: 'lab-b', pids: [100, 200], strategy: 'stop-and-copy' });
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(r.processes.map((p) => [p.sourcePid, p.ok, p.to]), [[100, true, 'lab-b']]);
    assert.deepEqual(r.left.map((l) => [l.pid, l.name]), [[200, 'sleep']]);
    assert.match(r.left[0].reason, /^Process 200 does not exist on lab-a/);
    assert.deepEqual(checkpoint.calls.filter((c) => c.startsWith('dump')), ['dump 100 on lab-a']);
    assert.deepEqual(hosts.get('lab-a')!.ran('signal-tree').filter((c) => c[2] === '200'), [], 'the one left was never signalled');
    await engine.dispose();
  });
});
