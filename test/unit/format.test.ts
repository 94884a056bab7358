// CLI output: the process tree (from real `ps` output), host reports and migration summaries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCapabilities } from '../../src/helper/capabilities';
import { parseProcessList } from '../../src/helper/processList';
import { formatHostReport, formatMigration, formatProcessTree } from '../../src/cli/format';
import type { MigrationResult, ProcessInfo } from '../../src/migration/api';
import { fixture } from './fixtures';

describe('formatProcessTree', () => {
  it('indents children under their parents, in ps order', () => {
    assert.equal(
      formatProcessTree(parseProcessList(fixture('ps.txt'))),
      [
        '    PID  USER        CPU%      RSS  COMMAND',
        '      1  root         0.0  1.7 MiB  sh /tmp/pmfx/ns.sh',
        '      3  root         0.0  1.8 MiB    sleep 3611',
        '      5  root         0.0  8.0 MiB    /usr/bin/python3 -c import time open("/proc/self/comm", "w").write("dev server") time.sleep(3600)',
        '      8  root         0.0  3.7 MiB    tmux -L pmfxns new-session -d -s ns -x 120 -y 30 exec /bin/sh',
        '      9  root         0.0  1.7 MiB      /bin/sh',
        '     13  root         0.0  1.6 MiB        sh -c sleep 3612 & sleep 3613; wait',
        '     15  root         0.0  1.8 MiB          sleep 3612',
        '     16  root         0.0  1.8 MiB          sleep 3613',
        '     17  root         0.0  1.7 MiB    dash /work/main/remote-helper/procmig-helper.sh ps',
        '     18  root         0.0  4.5 MiB      ps -eo pid=,ppid=,uid=,user:32=,pcpu=,rss=,stat=,tty=,args=',
        '',
      ].join('\n'),
    );
  });

  const p = (pid: number, ppid: number, command: string, extra: Partial<ProcessInfo> = {}): ProcessInfo => ({
    pid, ppid, uid: 0, user: 'root', cpu: 0, rssKiB: 0, name: 'x', command, state: 'S', ...extra,
  });

  it('starts a tree at every process whose parent is not listed', () => {
    const out = formatProcessTree([p(50, 40, 'orphan'), p(51, 50, 'child'), p(60, 1, 'other')]).split('\n');
    assert.equal(out[1], '     50  root         0.0      0 B  orphan');
    assert.equal(out[2], '     51  root         0.0      0 B    child');
    assert.equal(out[3], '     60  root         0.0      0 B  other');
  });

  it('shows [name] without a command line, cuts long users and commands', () => {
    const out = formatProcessTree([
      p(2, 0, '', { name: 'kthreadd' }),
      p(7, 0, 'x'.repeat(200), { user: 'a-very-long-user', cpu: 12.345, rssKiB: 2048 }),
    ]).split('\n');
    assert.equal(out[1], '      2  root         0.0      0 B  [kthreadd]');
    assert.equal(out[2], `      7  a-very-lon  12.3  2.0 MiB  ${'x'.repeat(120)}`);
  });

  it('prints only the header for no processes', () => {
    assert.equal(formatProcessTree([]), '    PID  USER        CPU%      RSS  COMMAND\n');
  });
});

describe('formatHostReport', () => {
  it('reports a host from its real caps', () => {
    const capabilities = parseCapabilities('lab-a', fixture('caps.txt'));
    assert.equal(
      formatHostReport({ host: 'lab-a', reachable: true, capabilities, problems: ['Something is wrong.'] }),
      [
        'lab-a: reachable',
        '  hostname vm, x86_64, kernel 6.18.44-fc-v657, 2 CPUs, load 1.38',
        '  CRIU 4.2.1 (root), memory available 21.7 GiB, disk free 77.9 GiB in /var/tmp/process-migrator',
        '  features: mem_dirty_track no, uffd yes, uffd-noncoop yes; fs.pipe-max-size 4.0 MiB',
        '  problem: Something is wrong.',
        '',
      ].join('\n'),
    );
  });

  it('reports a host without CRIU, and an unreachable one', () => {
    const capabilities = parseCapabilities('b', fixture('caps-no-criu.txt'));
    assert.match(formatHostReport({ host: 'b', reachable: true, capabilities, problems: [] }), /\n {2}CRIU not installed \(root\),/);
    assert.equal(formatHostReport({ host: 'gone', reachable: false, problems: ['Cannot connect.'] }), 'gone: unreachable\n  problem: Cannot connect.\n');
    assert.equal(formatHostReport({ host: 'c', reachable: true, problems: [], notes: ['It is slow.'] }), 'c: reachable\n  note: It is slow.\n');
  });
});

describe('formatMigration', () => {
  const base: MigrationResult = {
    ok: true,
    from: 'lab-a',
    to: 'lab-b',
    sourcePid: 4242,
    destinationPid: 4242,
    strategy: 'stop-and-copy',
    strategyReason: 'small process',
    phases: { preflight: 120, connect: 30, dump: 210, transfer: 340, restore: 95, verify: 151 },
    freezeMs: 812,
    totalMs: 1490,
    bytes: 3 * 1024 * 1024 + 512 * 1024,
    options: [
      { option: 'dump --leave-stopped', reason: 'the source stays frozen' },
      { option: 'dump --tcp-close', reason: '1 established TCP connection' },
    ],
    startedAt: '2026-11-25T04:50:00.000Z',
  };

  it('summarises a migration: outcome, strategy, phases in order, freeze, bytes, options', () => {
    assert.equal(
      formatMigration(base),
      [
        'Moved process 4242 from lab-a to lab-b: it runs there as PID 4242.',
        'Strategy: stop-and-copy (small process)',
        'Timeline:',
        '  connect         30 ms',
        '  preflight      120 ms',
        '  dump           210 ms',
        '  transfer       340 ms',
        '  restore         95 ms',
        '  verify         151 ms',
        '  frozen         812 ms',
        '  total         1490 ms',
        'Moved 3.5 MiB.',
        'CRIU options:',
        '  dump --leave-stopped: the source stays frozen',
        '  dump --tcp-close: 1 established TCP connection',
        '',
      ].join('\n'),
    );
  });

  it('says a failed migration left the process running on the source', () => {
    const out = formatMigration({ ...base, ok: false, destinationPid: undefined, error: 'PID 4242 is already used on lab-b.', rolledBack: true, strategyReason: '', options: [], phases: { preflight: 5 } });
    assert.equal(
      out,
      [
        'Migration failed: PID 4242 is already used on lab-b.',
        'The process keeps running on lab-a.',
        'Strategy: stop-and-copy',
        'Timeline:',
        '  preflight        5 ms',
        '  frozen         812 ms',
        '  total         1490 ms',
        'Moved 3.5 MiB.',
        '',
      ].join('\n'),
    );
  });

  it('does not claim the process runs on the source without a rollback', () => {
    const out = formatMigration({ ...base, ok: false, error: 'Lost.', rolledBack: false });
    assert.match(out, /^Migration failed: Lost\.\nStrategy:/);
    assert.doesNotMatch(out, /keeps running/);
  });
});
