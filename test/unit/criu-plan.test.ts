// CriuEngine.plan: process traits → CRIU options with their reasons; hostProblems.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriuEngine, MINIMUM_CRIU } from '../../src/checkpoint/criu';
import type { CheckpointPlan } from '../../src/checkpoint/engine';
import { traitsOf } from '../../src/migration/preflight';
import { caps, inspection } from './fixtures';

const engine = new CriuEngine();
/** On every restore: the process joins the destination's cgroup. */
const CGROUPS_IGNORED = {
  option: '--manage-cgroups=ignore',
  reason: "the process joins the destination's own cgroup, whose limits and accounting are that host's, instead of its cgroup path on the source",
};
const options = (plan: CheckpointPlan, side: 'dump' | 'restore') => plan[side].map((o) => o.option);

describe('CriuEngine.plan', () => {
  it('always leaves the source stopped and restores detached, with reasons', () => {
    const plan = engine.plan({});
    assert.deepEqual(plan, {
      dump: [{ option: '--leave-stopped', reason: 'the source stays frozen, not killed, until the destination runs the process' }],
      restore: [{ option: '--restore-detached', reason: 'the restored process must outlive the SSH session that restored it' }, CGROUPS_IGNORED],
    });
  });

  it('a plain detached process (fixture) needs nothing else', () => {
    const plan = engine.plan(traitsOf(inspection('sleep'), 'src'));
    assert.deepEqual(options(plan, 'dump'), ['--leave-stopped']);
    assert.deepEqual(options(plan, 'restore'), ['--restore-detached', '--manage-cgroups=ignore']);
  });

  it('maps each trait to its option on both sides, and --link-remap on dump only', () => {
    const plan = engine.plan({ shellJob: 'tty', closeTcp: 'tcp', fileLocks: 'locks', unlinkedFiles: 'deleted' });
    assert.deepEqual(plan.dump, [
      { option: '--leave-stopped', reason: 'the source stays frozen, not killed, until the destination runs the process' },
      { option: '--shell-job', reason: 'tty' },
      { option: '--tcp-close', reason: 'tcp' },
      { option: '--file-locks', reason: 'locks' },
      { option: '--link-remap', reason: 'deleted' },
    ]);
    assert.deepEqual(plan.restore, [
      { option: '--restore-detached', reason: 'the restored process must outlive the SSH session that restored it' },
      CGROUPS_IGNORED,
      { option: '--shell-job', reason: 'tty' },
      { option: '--tcp-close', reason: 'tcp' },
      { option: '--file-locks', reason: 'locks' },
    ]);
  });

  it('the python process (fixture): its loopback pair kept with --tcp-established, --file-locks, --link-remap with the preflight reasons', () => {
    const traits = traitsOf(inspection('python'), 'src');
    const plan = engine.plan(traits);
    assert.deepEqual(options(plan, 'dump'), ['--leave-stopped', '--tcp-established', '--network-lock=skip', '--file-locks', '--link-remap']);
    assert.deepEqual(options(plan, 'restore'), ['--restore-detached', '--manage-cgroups=ignore', '--tcp-established', '--network-lock=skip', '--file-locks']);
    const reason = (o: string) => plan.dump.find((c) => c.option === o)?.reason;
    assert.equal(reason('--tcp-established'), traits.keepTcp);
    assert.equal(reason('--file-locks'), 'it holds 1 FLOCK file lock');
    assert.equal(reason('--link-remap'), 'it has 1 deleted file open (/tmp/pmfx/b-scratch)');
  });

  it('the python process with one end of its pair outside the tree: --tcp-close (CRIU keeps all or none)', () => {
    const r = inspection('python');
    r.fds = r.fds.filter((f) => f.target !== 'socket:[121048]');
    const plan = engine.plan(traitsOf(r, 'src'));
    assert.deepEqual(options(plan, 'dump'), ['--leave-stopped', '--tcp-close', '--file-locks', '--link-remap']);
  });

  it('the terminal job (fixture): --shell-job on both sides, restored inside a tmux session', () => {
    const plan = engine.plan(traitsOf(inspection('ttyJob'), 'src'), '123');
    assert.deepEqual(options(plan, 'dump'), ['--leave-stopped', '--shell-job']);
    assert.deepEqual(options(plan, 'restore'), ['tmux new-session -d -s procmig-123', '--manage-cgroups=ignore', '--shell-job']);
    assert.equal(plan.terminalSession, 'procmig-123');
    assert.match(plan.restore[0].reason, /^it runs on the terminal \/dev\/pts\/0 of src, which cannot move: .*tmux session/);
    assert.equal(plan.restore[2].reason, 'it runs on the terminal /dev/pts/0, whose session belongs to a shell that stays on src');
  });

  it('substitutes become --inherit-fd on restore, on descriptors 4 and up', () => {
    const plan = engine.plan({
      substitutes: [
        { resource: 'tmp/log', path: '/tmp/log', mode: 'append', reason: 'r1' },
        { resource: 'pipe:[77]', path: '/dev/null', mode: 'read', reason: 'r2' },
      ],
    });
    assert.deepEqual(options(plan, 'restore'), ['--restore-detached', '--manage-cgroups=ignore', '--inherit-fd fd[4]:tmp/log', '--inherit-fd fd[5]:pipe:[77]']);
    assert.deepEqual(plan.inherit, [
      { fd: 4, path: '/tmp/log', mode: 'append' },
      { fd: 5, path: '/dev/null', mode: 'read' },
    ]);
    assert.equal(plan.terminalSession, undefined);
  });

  it('past descriptor 9 (a process started from VS Code holds ~9 of its logs): one descriptor each, counting on', () => {
    const substitutes = Array.from({ length: 12 }, (_, n) => ({ resource: `logs/${n}.log`, path: `/c/logs/${n}.log`, mode: 'append' as const, reason: `r${n}` }));
    const plan = engine.plan({ substitutes });
    assert.deepEqual(plan.inherit?.map((i) => i.fd), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(options(plan, 'restore').at(-1), '--inherit-fd fd[15]:logs/11.log');
    assert.equal(plan.restore.at(-1)?.reason, 'r11');
  });

  it('an empty reason is no trait', () => {
    assert.deepEqual(options(engine.plan({ closeTcp: '' }), 'dump'), ['--leave-stopped']);
  });
});

describe('CriuEngine.hostProblems', () => {
  it('none for this host (root, CRIU 4.2.1, check ok)', () => {
    assert.deepEqual(engine.hostProblems(caps('a')), []);
    assert.equal(MINIMUM_CRIU, '4.2');
  });

  it('one sentence per kind of problem, the most basic first', () => {
    assert.deepEqual(engine.hostProblems(caps('a', { privilege: 'none', criuVersion: undefined })), [
      'CRIU cannot run on a: run `procmig setup a` once (with sudo, it gives a copy of CRIU the capabilities of its unprivileged mode, so it checkpoints your own processes without root), or connect as root, or allow passwordless sudo for criu there.',
    ]);
    assert.deepEqual(engine.hostProblems(caps('a', { criuVersion: undefined })), [
      'CRIU is not installed on a: run `procmig setup a` (Set Up Host… in VS Code), which installs CRIU 4.2+ there.',
    ]);
    assert.deepEqual(engine.hostProblems(caps('a', { criuVersion: '4.1.1' })), [
      'a has CRIU 4.1.1, older than 4.2: run `procmig setup a` (Set Up Host… in VS Code), which installs 4.2.1 there.',
    ]);
    assert.deepEqual(engine.hostProblems(caps('a', { privilege: 'sudo' })), []);
    assert.deepEqual(engine.hostProblems(caps('a', { privilege: 'unprivileged' })), []);
  });

  it('--unprivileged is in the report where CRIU runs so, but the helper passes it to CRIU itself', () => {
    const plan = engine.plan({ unprivilegedDump: 'as pmdev', unprivilegedRestore: 'as pmdev' });
    assert.deepEqual(options(plan, 'dump'), ['--leave-stopped', '--unprivileged']);
    assert.deepEqual(options(plan, 'restore'), ['--restore-detached', '--unprivileged', '--manage-cgroups=ignore']);
  });

  it('a host without perl or python3 cannot hand CRIU its page connection', () => {
    assert.deepEqual(engine.hostProblems(caps('a', { pageSocketTool: '' })), [
      'a has neither perl nor python3, one of which hands CRIU its memory pages over a private unix socket there: install perl on a.',
    ]);
    assert.deepEqual(engine.hostProblems(caps('a', { pageSocketTool: 'python3' })), []);
  });
});

describe('CriuEngine.hostNotes', () => {
  it('says when CRIU probes the kernel on every run (no tmpfs /run), and how to give it one; nothing otherwise', () => {
    assert.deepEqual(engine.hostNotes(caps('a', { criuProbeKept: false })), [
      "CRIU probes the kernel of a anew on every run, about 45 ms before each freeze and each restore there: it keeps that probe (/run/criu.kdat) only on a tmpfs, and /run on a is not one (a container's often is not: start it with one, e.g. `docker run --tmpfs /run`).",
    ]);
    assert.deepEqual(engine.hostNotes(caps('a', { criuProbeKept: true })), []);
    assert.deepEqual(engine.hostNotes(caps('a')), [], 'not asked (not root)');
  });
});
