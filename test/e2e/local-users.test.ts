// Other local users of a shared host (a team box, a GPU server): during a move, nothing the
// migration listens on lets them in. A second, unprivileged user on both lab hosts tries every
// listener of the migration, sampled over and over while it dumps and transfers (stop-and-copy)
// and while the pages follow (post-copy): no TCP listener but the one-time sshd, which lets in
// only the migration's own key, and the unix sockets sit in directories that user cannot enter.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { helperScript } from '../../src/helper/hostHelper';
import { kill, onHost, procmig, readNumber, sharedDir, sshConfig, startDetached, tickerAdvances, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const OTHER = 'procmig-other';
const cleanup = useLab();
const dir = sharedDir('local-users');
/** The helper's cached name on the hosts: the migration's processes run under it. */
const helper = helperScript().name;

interface Sample {
  tcp: { port: number; procs: string[]; cmd: string; connect: string; login?: string }[];
  unix: { path: string; procs: string[]; connect: string; list?: string }[];
  criu: string[];
}

let other = { uid: 0, gid: 0 };

before(async () => {
  // The hosts share /etc/passwd: one account serves both.
  const out = await onHost(A, `id -u ${OTHER} >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin ${OTHER}; echo $(id -u ${OTHER}) $(id -g ${OTHER})`);
  const [uid, gid] = out.split(' ').map(Number);
  assert.ok(uid > 0, `no uid for ${OTHER}: ${out}`);
  assert.equal(await onHost(B, `id -u ${OTHER}`), String(uid));
  other = { uid, gid };
  copyFileSync(path.join(__dirname, 'support', 'listener-probe.py'), path.join(dir, 'listener-probe.py'));
});

/** Samples what the other user can reach on `host` until stopped. */
function probe(host: string): { samples: Sample[]; started: Promise<void>; stop(): Promise<void> } {
  const stopFile = `/tmp/e2e-local-users-stop`;
  const child = spawn('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', host,
    `rm -f ${stopFile}; exec /usr/bin/python3 ${dir}/listener-probe.py ${other.uid} ${other.gid} ${stopFile} ${helper}`]);
  const samples: Sample[] = [];
  let buffer = '';
  let stderr = '';
  let first!: () => void;
  const started = new Promise<void>((resolve) => (first = resolve));
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      samples.push(JSON.parse(buffer.slice(0, i)) as Sample);
      buffer = buffer.slice(i + 1);
      first();
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  cleanup.push(async () => void child.kill());
  void closed.then(() => first());
  return {
    samples,
    started: started.then(() => assert.ok(samples.length, `the probe on ${host} did not start: ${stderr}`)),
    stop: async () => {
      await onHost(host, `touch ${stopFile}`);
      await closed;
      assert.equal(stderr.trim(), '', `the probe on ${host} failed`);
    },
  };
}

/** A Python process holding 128 MiB that counts in a file of this host's /tmp every 100 ms. */
async function startCounter(tag: string): Promise<{ pid: number; file: string }> {
  const file = `/tmp/e2e-local-users-${tag}`;
  const script = path.join(dir, `${tag}.py`);
  writeFileSync(script, [
    'import os, time',
    'data = bytearray(os.urandom(1 << 20)) * 128',
    'i = 0',
    'while True:',
    '    i += 1',
    `    open("${file}", "w").write(str(i))`,
    '    time.sleep(0.1)',
  ].join('\n'));
  await onHost(A, `rm -f ${file}`);
  await onHost(B, `rm -f ${file}`);
  const pid = await startDetached(A, `/usr/bin/python3 ${script}`);
  cleanup.push(() => kill(A, pid));
  await waitFor(async () => (await readNumber(A, file)) > 0, 30_000);
  return { pid, file };
}

/** Every listener the migration had on a host, as the other user met it; `mustSee`: the host
 * listens on a unix socket for long enough that some sample meets it. */
function assertNothingReachable(host: string, samples: Sample[], mustSee = true): void {
  const tcp = samples.flatMap((s) => s.tcp);
  for (const t of tcp) {
    assert.ok(t.procs.includes('sshd') && t.cmd.includes('/direct/sshd_config'), `${host}: the migration listens on TCP port ${t.port}: ${t.procs.join(',')} ${t.cmd}`);
    assert.ok(t.login !== undefined && t.login !== 'ok', `${host}: the other user logged in to the one-time sshd on port ${t.port}`);
    assert.match(t.login!, /Permission denied/, `${host}: the one-time sshd on port ${t.port} answered the other user: ${t.login}`);
  }
  // CRIU's own parasite transport, abstract and bound for the moment a task is infected, is
  // CRIU's to guard (its name carries a random id); the page traffic does not use it.
  const unix = samples.flatMap((s) => s.unix).filter((u) => !u.path.startsWith('@/crtools-pr-'));
  if (mustSee) assert.ok(unix.length > 0, `${host}: no unix socket of the migration was seen`);
  for (const u of unix) {
    assert.notEqual(u.connect, 'ok', `${host}: the other user connected to ${u.path} (${u.procs.join(',')})`);
    assert.ok(u.path.startsWith('/'), `${host}: ${u.path} is an abstract socket, which no directory guards`);
    assert.notEqual(u.list, 'ok', `${host}: the other user could list the directory of ${u.path}`);
  }
}

describe('other local users during a move', () => {
  for (const [strategy, served] of [['stop-and-copy', 'page-server'], ['post-copy', 'lazy-pages']] as const) {
    it(`${strategy}: the other user reaches nothing of the migration on either host, and the counter counts on`, async () => {
      const tag = strategy;
      const { pid, file } = await startCounter(tag);
      const probes: Record<string, ReturnType<typeof probe>> = { [A]: probe(A), [B]: probe(B) };
      await Promise.all(Object.values(probes).map((p) => p.started));

      const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--strategy', strategy, '--json']);
      await Promise.all(Object.values(probes).map((p) => p.stop()));
      assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
      cleanup.push(() => kill(B, result.json.destinationPid));
      assert.equal(result.json.strategy, strategy);
      assert.match(result.json.transfer, /direct lab-a → lab-b over OpenSSH/);

      // The samples cover the phases that move memory: CRIU dumping on A, receiving or serving
      // the pages on B.
      const criu = (host: string) => new Set(probes[host].samples.flatMap((s) => s.criu));
      assert.ok(criu(A).has('dump'), `no sample on ${A} while CRIU dumped (${[...criu(A)]})`);
      assert.ok(criu(B).has(served), `no sample on ${B} while CRIU's ${served} ran (${[...criu(B)]})`);
      assertNothingReachable(A, probes[A].samples);
      // B's sockets (the page server's, or post-copy's) listen only until their one connection
      // is made, before the freeze: a sample may fall after it, and the ones it meets are
      // checked. A's page socket, which the dump connects to, is required below.
      assertNothingReachable(B, probes[B].samples, false);
      const sockets = probes[A].samples.flatMap((s) => s.unix.map((u) => u.path));
      assert.ok(sockets.some((p) => p.endsWith('/pages.sock')), `the page tunnel's socket on ${A} was not seen: ${[...new Set(sockets)]}`);

      // The process's state moved: its counter goes on from where it was on A.
      const lastOnA = await readNumber(A, file);
      assert.ok(lastOnA > 0);
      await waitFor(async () => (await readNumber(B, file)) > lastOnA, 30_000);
      assert.ok(await tickerAdvances(B, file), 'the counter advances on B');
    });
  }
});
