// End-to-end check of the lab (scripts/lab.sh): its hosts answer over SSH with strict host-key
// checking, and they really are separate machines: different hostnames, PID namespaces, PID
// ranges, /tmp contents and cgroups with their own limits, and they reach each other directly. A
// process moved between them joins the destination's cgroup.
// Leaves the lab up if it was up before, takes it down otherwise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { cli, kill, procmig, readNumber, startTicker, waitFor } from './support/lab';

const repo = path.resolve(import.meta.dirname, '..', '..');
const labSh = path.join(repo, 'scripts', 'lab.sh');
const sshConfig = path.join(repo, '.lab', 'ssh_config');
/** Each host with the CPU quota (cores) and memory limit (MiB) of its cgroup. */
const hosts = {
  a: { name: 'lab-a', addr: '10.77.0.11', cpus: 1, mib: 4096 },
  b: { name: 'lab-b', addr: '10.77.0.12', cpus: 2, mib: 8192 },
  c: { name: 'lab-c', addr: '10.77.0.13', cpus: 1, mib: 2048 },
};
/** What runs on the lab hosts, killed after the tests: [host, PID there]. */
const started: [string, number][] = [];

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

after(async () => {
  for (const [host, pid] of started) await kill(host, pid);
  if (!wasUp) {
    const down = lab('down');
    assert.equal(down.status, 0, `lab down failed:\n${down.stdout}\n${down.stderr}`);
  }
});

test('up is idempotent and status reports every host reachable', () => {
  const up = lab('up');
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /already up/);
  const status = lab('status');
  assert.equal(status.status, 0, status.stdout + status.stderr);
  for (const h of Object.values(hosts)) {
    assert.match(status.stdout, new RegExp(`${h.name}\\s+up\\s+${h.addr.replace(/\./g, '\\.')}\\s+sshd: reachable`));
  }
  // A worktree may link its .lab to another checkout's: lab.sh names the real path.
  assert.equal(lab('env').stdout.trim(), `PROCMIG_LAB_SSH_CONFIG=${path.join(realpathSync(path.join(repo, '.lab')), 'ssh_config')}`);
});

test('both hosts answer with strict host-key checking and have their own hostnames', () => {
  assert.equal(ssh(hosts.a.name, 'hostname'), 'lab-a');
  assert.equal(ssh(hosts.b.name, 'hostname'), 'lab-b');
  assert.equal(ssh(hosts.c.name, 'hostname'), 'lab-c', 'the third host, for placement');
  assert.equal(ssh('lab-c-dev', 'id -un'), 'pmdev');
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
  // The third host has its own too, counting from 300000.
  const [nsC, pidC] = ssh(hosts.c.name, 'readlink /proc/self/ns/pid; echo $$').split('\n');
  assert.ok(![nsA, nsB, own].includes(nsC));
  assert.ok(Number(pidC) > 100000 && ![pidA, pidB].includes(pidC), `PID ${pidC} on lab-c`);
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

// --- cgroups ------------------------------------------------------------------------------------

/** The root-namespace PID of a host's init (the lab's state, machine-wide). */
function initPid(host: string): number {
  return Number(readFileSync(`/var/lib/process-migrator-lab/hosts/${host}/init.pid`, 'utf8'));
}

/** /proc/PID/cgroup as seen from this (the root) namespace. */
function cgroupOf(rootPid: number): string {
  return readFileSync(`/proc/${rootPid}/cgroup`, 'utf8').trim();
}

/** The root-namespace PID of the process that is `pid` in `host`'s PID namespace. */
function rootPidOf(host: string, pid: number): number {
  const ns = readlinkSync(`/proc/${initPid(host)}/ns/pid`);
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1].split(/\s+/);
      if (Number(nspid?.at(-1)) === pid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no process ${pid} on ${host}`);
}

/** Asserts that a process (root-namespace PID) is in `host`'s own cgroup in every hierarchy. */
function assertInCgroupOf(host: string, rootPid: number, what: string) {
  const own = cgroupOf(initPid(host));
  for (const line of own.split('\n')) assert.match(line, new RegExp(`/pm-${host}$`), `${host}'s init: ${line}`);
  assert.equal(cgroupOf(rootPid), own, `${what} is in ${host}'s cgroup`);
}

test("each host sees its own cgroup as the root, with its own CPU quota and memory limit", () => {
  const seen = Object.values(hosts).map((h) => {
    // A session, as root and as the lab's user: every hierarchy reads "/" (its own cgroup namespace).
    for (const login of [h.name, `${h.name}-dev`]) {
      const lines = ssh(login, 'cat /proc/self/cgroup').split('\n');
      assert.ok(lines.length > 1 && lines.every((l) => l.endsWith(':/')), `${login}: ${lines.join(' ')}`);
    }
    const [limit, quota, period] = ssh(
      h.name,
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us',
    ).split('\n').map(Number);
    assert.equal(limit, h.mib * 1024 * 1024, `${h.name}'s memory limit`);
    assert.equal(quota / period, h.cpus, `${h.name}'s CPU quota in cores`);
    // From this machine: the host's sshd (and so every session) is in the host's cgroup.
    const sshd = Number(execFileSync('sh', [labSh, 'exec', h.name, 'pgrep', '-o', '-x', 'sshd'], { encoding: 'utf8' }).trim());
    assertInCgroupOf(h.name, rootPidOf(h.name, sshd), `${h.name}'s sshd`);
    return `${limit}/${quota}`;
  });
  assert.notEqual(seen[0], seen[1], 'lab-a and lab-b have different limits');
});

/** Moves a ticker from `from` to `to` (as `user`'s hosts: '' root, '-dev' pmdev) and checks that it
 * counts on there, in `to`'s cgroup. `setup` runs before it starts (the ticker's shell is `$$`). */
async function moveTicker(from: string, to: string, tag: string, setup = '') {
  if (!existsSync(cli)) execFileSync('node', [path.join(repo, 'esbuild.config.mjs')], { cwd: repo, stdio: 'inherit' });
  const file = `/tmp/lab-test-cg-${tag}-${randomBytes(3).toString('hex')}`;
  const pid = setup
    ? Number(ssh(from, `setsid sh -c '${setup}; i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo $!`))
    : await startTicker(from, file);
  started.push([from, pid], [to, pid]);
  await waitFor(async () => (await readNumber(from, file)) > 0);
  const result = await procmig(['migrate', String(pid), '--from', from, '--to', to, '--json']);
  assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
  assert.equal(result.json.ok, true, result.json.error);
  const moved: number = result.json.destinationPid;
  started.push([to, moved]);
  const at = await readNumber(to, file);
  await waitFor(async () => (await readNumber(to, file)) > at);
  const host = to.replace(/-dev$/, '');
  assertInCgroupOf(host, rootPidOf(host, moved), `the ticker restored on ${to}`);
  return { pid: moved, file };
}

test("a process moved from lab-a to lab-b counts on there, in lab-b's cgroup (as root and as pmdev)", async () => {
  await moveTicker('lab-a', 'lab-b', 'root');
  // pmdev's CRIU runs in its unprivileged mode, which leaves cgroups alone: `procmig setup` gives
  // pmdev that CRIU (idempotent; test/e2e/users.test.ts checks it).
  for (const host of ['lab-a', 'lab-b']) {
    const setup = await procmig(['setup', host, '--user', 'pmdev']);
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
  }
  await moveTicker('lab-a-dev', 'lab-b-dev', 'dev');
});

test("a process in a cgroup of its own on lab-a joins lab-b's cgroup, not lab-b's group of that name", async () => {
  // Inside a host, root may make cgroups under its own. CRIU would put the process back into the
  // same path, and on lab-b that is an unrelated group with a 64 MiB limit.
  const group = `lab-test-job-${randomBytes(3).toString('hex')}`;
  const mkgroup = (mib: number) =>
    `for c in memory cpu; do mkdir -p /sys/fs/cgroup/$c/${group}; done; echo ${mib << 20} > /sys/fs/cgroup/memory/${group}/memory.limit_in_bytes`;
  ssh(hosts.a.name, mkgroup(512));
  ssh(hosts.b.name, mkgroup(64));
  try {
    const { pid } = await moveTicker('lab-a', 'lab-b', 'job', `for c in memory cpu; do echo $$ > /sys/fs/cgroup/$c/${group}/cgroup.procs; done`);
    assert.equal(ssh(hosts.b.name, `cat /sys/fs/cgroup/memory/${group}/cgroup.procs`), '', `nothing joined lab-b's ${group}`);
    assert.equal(ssh(hosts.b.name, `grep -c ':/$' /proc/${pid}/cgroup`), ssh(hosts.b.name, 'grep -c . /proc/self/cgroup'));
  } finally {
    for (const [host, pid] of started) await kill(host, pid);
    for (const h of [hosts.a.name, hosts.b.name]) {
      // The ticker's sleep may outlive it by a moment: retry the rmdir until its group is empty.
      await waitFor(async () => ssh(h, `for c in memory cpu; do rmdir /sys/fs/cgroup/$c/${group} 2>/dev/null; done; ls -d /sys/fs/cgroup/*/${group} 2>/dev/null || true`) === '').catch(() => undefined);
    }
  }
});

test('lab-c takes a process from lab-a: it counts on there, in lab-c\'s cgroup', async () => {
  await moveTicker('lab-a', 'lab-c', 'c');
});
