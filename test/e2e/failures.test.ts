// Every failure leaves the source running with its state and says why, in one sentence.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, repo, sshConfig, startTicker, stateOf, tickerAdvances, useTicker, withCriuWrapper, type CliResult } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const file = '/tmp/e2e-fail-ticks';
const ticker = useTicker(A, file);

/** The migration failed cleanly: non-zero exit, one sentence, the source still counting. */
async function assertRolledBack(result: CliResult, expected: RegExp) {
  assert.notEqual(result.code, 0);
  assert.equal(result.json?.ok, false, result.stdout + result.stderr);
  assert.match(result.json.error, expected);
  assert.doesNotMatch(result.json.error, /\n/, 'one sentence, no stack trace');
  assert.equal(await stateOf(A, ticker.pid), 'running');
  assert.ok(await tickerAdvances(A, file), 'the source keeps running with its state');
  assert.equal(await onHost(B, 'ls /var/tmp/process-migrator 2>/dev/null | grep -c img. || true'), '0', 'no images left on the destination');
  assert.equal(await onHost(A, 'ls /var/tmp/process-migrator 2>/dev/null | grep -c img. || true'), '0', 'no images left on the source');
  // Page servers and lazy dumps are stopped too, not orphaned.
  for (const host of [A, B]) assert.equal(await onHost(host, 'pgrep -xc criu || true'), '0', `a CRIU process is left on ${host}`);
}

const lab = (...args: string[]) => execFileSync('sh', [path.join(repo, 'scripts', 'lab.sh'), ...args], { stdio: 'pipe' });

describe('failures roll back', () => {
  it('destination down: says it cannot reach the host', async () => {
    lab('sshd', B, 'stop');
    try {
      const result = await procmig(['migrate', String(ticker.pid), '--from', A, '--to', B, '--json']);
      assert.notEqual(result.code, 0);
      assert.match(result.json.error, /lab-b/);
      assert.match(result.json.error, /reach|refused|connect/i);
      assert.equal(await stateOf(A, ticker.pid), 'running');
      assert.ok(await tickerAdvances(A, file));
    } finally {
      lab('sshd', B, 'start');
    }
  });

  it('CRIU failing on the destination: the source resumes and the half-restored copy is gone', async () => {
    const failing = `if [ "$1" = restore ]; then
  while [ $# -gt 0 ]; do [ "$1" = -D ] && dir=$2; shift; done
  echo 'Error (criu/cr-restore.c:2447): Restoring FAILED (simulated).' > "$dir/restore.log"
  exit 1
fi
exec /tmp/criu-real "$@"`;
    await withCriuWrapper(B, failing, async () => {
      const result = await procmig(['migrate', String(ticker.pid), '--from', A, '--to', B, '--json']);
      await assertRolledBack(result, /restore.*lab-b|lab-b.*restore/i);
      assert.equal(result.json.rolledBack, true);
      assert.match(result.json.logs?.destination ?? '', /simulated/);
    });
  });

  it('PID taken on the destination: restored into a new PID namespace, where it keeps its PID', async () => {
    // Occupy the source's PID on lab-b: the next fork after ns_last_pid = pid-1 gets pid.
    const squatter = Number(await onHost(B, `echo ${ticker.pid - 1} > /proc/sys/kernel/ns_last_pid; setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!`));
    try {
      assert.equal(squatter, ticker.pid, 'the PID is taken on lab-b');
      const before = Number(await onHost(A, `cat ${file}`));
      const result = await procmig(['migrate', String(ticker.pid), '--from', A, '--to', B, '--json']);
      assert.equal(result.json?.ok, true, result.stdout + result.stderr);
      const moved = result.json.destinationPid as number;
      assert.notEqual(moved, ticker.pid, 'lab-b sees it under another PID');
      assert.equal(await stateOf(B, moved), 'running');
      assert.equal(await stateOf(B, ticker.pid), 'running', 'the process that had the PID is untouched');
      assert.equal(await stateOf(A, ticker.pid), 'gone');
      assert.match(await onHost(B, `sed -n 's/^NSpid:[[:space:]]*//p' /proc/${moved}/status`), new RegExp(`^${moved}\\s+${ticker.pid}$`), 'inside its namespace it keeps its PID');
      assert.ok(result.json.options.some((o: { option: string; reason: string }) => /new PID namespace/.test(o.option) && o.reason.includes(`PID ${ticker.pid} is in use`)), 'the report says why');
      assert.ok(await tickerAdvances(B, file), 'it runs on lab-b');
      assert.ok(Number(await onHost(B, `cat ${file}`)) > before, 'with its counter carried over');
      await kill(B, moved);
      ticker.pid = await startTicker(A, file);
    } finally {
      await onHost(B, `kill ${squatter} 2>/dev/null; true`);
    }
  });

  it('bad input: no such PID, PID 1, a kernel thread, an unknown host', async () => {
    const cases: [string[], RegExp][] = [
      [['migrate', '3999999', '--from', A, '--to', B], /Process 3999999 does not exist on lab-a/],
      [['migrate', '1', '--from', A, '--to', B], /init process of lab-a/],
      [['migrate', '2', '--from', 'local', '--to', B], /kernel thread/],
      [['migrate', String(ticker.pid), '--from', A, '--to', 'no-such-host.invalid'], /no-such-host\.invalid/],
    ];
    for (const [args, expected] of cases) {
      const result = await procmig([...args, '--json']);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.equal(result.json?.ok, false);
      assert.match(result.json.error, expected);
    }
    const notAPid = await procmig(['migrate', 'abc', '--to', B]);
    assert.notEqual(notAPid.code, 0);
    assert.match(notAPid.stderr, /'abc' is not a PID/);
    assert.equal(await stateOf(A, ticker.pid), 'running');
    assert.ok(await tickerAdvances(A, file));
  });

  it('a changed host key is refused, the unknown one shows its fingerprint', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'procmig-hostkey-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other')]);
      const other = readFileSync(path.join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      const known = readFileSync(path.join(repo, '.lab', 'known_hosts'), 'utf8');
      const config = readFileSync(sshConfig, 'utf8');
      // lab-b's entry now holds a different key: as if the host had been replaced.
      const changed = known.split('\n').map((l) => (l.includes('10.77.0.12') ? `${l.split(' ')[0]} ${other}` : l)).join('\n');
      writeFileSync(path.join(dir, 'known_changed'), changed);
      writeFileSync(path.join(dir, 'config_changed'), config.replaceAll(path.join(repo, '.lab', 'known_hosts'), path.join(dir, 'known_changed')));
      const result = await procmig(['migrate', String(ticker.pid), '--from', A, '--to', B, '--json'], { sshConfig: path.join(dir, 'config_changed') });
      assert.notEqual(result.code, 0);
      assert.match(result.json.error, /changed|does not match|identification/i);
      assert.match(result.json.error, /lab-b|10\.77\.0\.12/);

      const unknown = known.split('\n').filter((l) => !l.includes('10.77.0.12')).join('\n');
      writeFileSync(path.join(dir, 'known_unknown'), unknown);
      writeFileSync(path.join(dir, 'config_unknown'), config.replaceAll(path.join(repo, '.lab', 'known_hosts'), path.join(dir, 'known_unknown')));
      const refused = await procmig(['migrate', String(ticker.pid), '--from', A, '--to', B, '--json'], { sshConfig: path.join(dir, 'config_unknown') });
      assert.notEqual(refused.code, 0);
      assert.match(refused.json.error, /SHA256:/);

      assert.equal(await stateOf(A, ticker.pid), 'running');
      assert.ok(await tickerAdvances(A, file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

