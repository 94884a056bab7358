// End-to-end check of the two-host lab (scripts/lab.sh): both hosts answer over SSH with strict
// host-key checking, and they really are two machines: different hostnames, PID namespaces, PID
// ranges and /tmp contents, and they reach each other directly.
// Leaves the lab up if it was up before, takes it down otherwise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '..', '..');
const labSh = path.join(repo, 'scripts', 'lab.sh');
const sshConfig = path.join(repo, '.lab', 'ssh_config');
const hosts = { a: { name: 'lab-a', addr: '10.77.0.11' }, b: { name: 'lab-b', addr: '10.77.0.12' } };

function lab(...args: string[]) {
  return spawnSync('sh', [labSh, ...args], { encoding: 'utf8', timeout: 120_000 });
}

/** Runs a shell command on a host through the lab ssh_config, strict host keys, no prompts. */
function ssh(host: string, script: string): string {
  return execFileSync(
    'ssh',
    ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10', host, script],
    { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();
}

let wasUp = false;

before(() => {
  wasUp = lab('status').status === 0;
  if (!wasUp) {
    const up = lab('up');
    assert.equal(up.status, 0, `lab up failed:\n${up.stdout}\n${up.stderr}`);
  }
});

after(() => {
  if (!wasUp) {
    const down = lab('down');
    assert.equal(down.status, 0, `lab down failed:\n${down.stdout}\n${down.stderr}`);
  }
});

test('up is idempotent and status reports both hosts reachable', () => {
  const up = lab('up');
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /already up/);
  const status = lab('status');
  assert.equal(status.status, 0, status.stdout + status.stderr);
  for (const h of Object.values(hosts)) {
    assert.match(status.stdout, new RegExp(`${h.name}\\s+up\\s+${h.addr.replace(/\./g, '\\.')}\\s+sshd: reachable`));
  }
  assert.equal(lab('env').stdout.trim(), `PROCMIG_LAB_SSH_CONFIG=${sshConfig}`);
});

test('both hosts answer with strict host-key checking and have their own hostnames', () => {
  assert.equal(ssh(hosts.a.name, 'hostname'), 'lab-a');
  assert.equal(ssh(hosts.b.name, 'hostname'), 'lab-b');
  // A wrong host key must be refused: strict checking is really on.
  const bad = spawnSync(
    'ssh',
    ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', hosts.a.name, 'true'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.notEqual(bad.status, 0, 'ssh with an empty known_hosts should fail under StrictHostKeyChecking=yes');
});

test('hosts have separate PID namespaces with different PID ranges', () => {
  const a = ssh(hosts.a.name, 'readlink /proc/self/ns/pid; echo $$; cat /proc/1/comm');
  const b = ssh(hosts.b.name, 'readlink /proc/self/ns/pid; echo $$; cat /proc/1/comm');
  const [nsA, pidA, initA] = a.split('\n');
  const [nsB, pidB, initB] = b.split('\n');
  assert.notEqual(nsA, nsB);
  assert.equal(initA, 'tini');
  assert.equal(initB, 'tini');
  // Each host's counter starts at its own base (100000 / 200000), but CRIU restores move a host's
  // counter (it allocates the restored PIDs), so after migrations only "different" is stable.
  assert.notEqual(pidA, pidB);
  assert.ok(Number(pidA) > 100000 && Number(pidB) > 100000, `PIDs ${pidA} / ${pidB} start above the bases`);
  // sshd's listener was started right after the base was set (unless restarted since).
  const listenerA = Number(ssh(hosts.a.name, 'pgrep -o -x sshd'));
  const listenerB = Number(ssh(hosts.b.name, 'pgrep -o -x sshd'));
  assert.ok(listenerA > 100000 && listenerA !== listenerB, `sshd PIDs ${listenerA} / ${listenerB}`);
  // The root namespace's PID namespace is neither.
  const own = execFileSync('readlink', ['/proc/self/ns/pid'], { encoding: 'utf8' }).trim();
  assert.notEqual(own, nsA);
  assert.notEqual(own, nsB);
});

test('/tmp, /var/tmp and ~/.cache are host-local', () => {
  const token = randomBytes(6).toString('hex');
  for (const dir of ['/tmp', '/var/tmp', '/root/.cache']) {
    const file = `${dir}/lab-test-${token}`;
    try {
      ssh(hosts.a.name, `echo a > ${file}`);
      assert.equal(ssh(hosts.a.name, `cat ${file}`), 'a');
      assert.equal(ssh(hosts.b.name, `test -e ${file} && echo present || echo absent`), 'absent', `${file} leaked to lab-b`);
    } finally {
      ssh(hosts.a.name, `rm -f ${file}`);
    }
  }
});

test('hosts reach each other directly, by address and by name', () => {
  // The checkout may sit under a path each host mounts over (a clone in /tmp): hand the key and
  // known_hosts to each host's own /tmp instead of pointing at the checkout.
  const key = '/tmp/lab-test-key';
  const knownHosts = '/tmp/lab-test-known_hosts';
  for (const h of [hosts.a.name, hosts.b.name]) {
    execFileSync('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', h, `umask 077; cat > ${key}`], { input: readFileSync(path.join(repo, '.lab', 'id_ed25519')) });
    execFileSync('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', h, `cat > ${knownHosts}`], { input: readFileSync(path.join(repo, '.lab', 'known_hosts')) });
  }
  const opts = `-i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  assert.equal(ssh(hosts.a.name, `ssh ${opts} root@${hosts.b.addr} hostname`), 'lab-b');
  assert.equal(ssh(hosts.b.name, `ssh ${opts} root@lab-a hostname`), 'lab-a');
  // Port forwarding works both ways (the product forwards CRIU's page server with it).
  const port = 20000 + Math.floor(Math.random() * 20000);
  // Reads the peer's SSH banner through a forwarded port (bash /dev/tcp; retried while the forward
  // comes up). No quotes inside, so it nests in the double-quoted remote command below.
  const probe = (p: number) =>
    `for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/${p} && head -c 7 <&3) 2>/dev/null && break; sleep 0.1; done`;
  const local = ssh(
    hosts.a.name,
    `ssh ${opts} -o ExitOnForwardFailure=yes -L 127.0.0.1:${port}:${hosts.b.addr}:22 root@${hosts.b.addr} sleep 20 & p=$!; ` +
      `${probe(port)}; kill $p`,
  );
  assert.equal(local, 'SSH-2.0', 'ssh -L from lab-a to lab-b');
  const remote = ssh(
    hosts.a.name,
    `ssh ${opts} -o ExitOnForwardFailure=yes -R 127.0.0.1:${port + 1}:${hosts.a.addr}:22 root@${hosts.b.addr} ` +
      `"${probe(port + 1).replace(/\$/g, '\\$')}"`,
  );
  assert.equal(remote, 'SSH-2.0', 'ssh -R from lab-a to lab-b');
});

test('lab.sh exec runs inside the host', () => {
  const r = spawnSync('sh', [labSh, 'exec', 'lab-b', 'sh', '-c', 'hostname; readlink /proc/1/exe'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [name, init] = r.stdout.trim().split('\n');
  assert.equal(name, 'lab-b');
  assert.match(init, /tini$/);
});

test('CRIU works inside a host', () => {
  assert.match(ssh(hosts.a.name, 'criu check 2>&1'), /Looks good/);
});
