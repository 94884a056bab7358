// OpenSSH's config semantics against the real lab: aliases the lab's own config does not know,
// reached through a ProxyCommand whose namespace comes from %n (the name as typed), and a Match
// block that picks the address, exactly as `ssh` reads them. Checked through the CLI, on the
// hosts' real process tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kill, procmig, repo, startDetached, useLab } from './support/lab';

const cleanup = useLab();
const dir = mkdtempSync(join(tmpdir(), 'pm-sshcfg-e2e-'));
cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'ssh_config');
writeFileSync(
  config,
  `# x-lab-a and x-lab-b: the lab's hosts under names of our own.
Match originalhost x-lab-a
    HostName 10.77.0.11
Match originalhost x-lab-b
    HostName 10.77.0.12
Host x-lab-*
    User root
    IdentityFile ${repo}/.lab/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile ${repo}/.lab/known_hosts
    StrictHostKeyChecking yes
    # %n is x-lab-a or x-lab-b: each host is entered through its own network namespace.
    ProxyCommand ip netns exec pm-$(echo %n | cut -c3-) socat - TCP:%h:%p
`,
);

interface PsRow {
  pid: number;
  command: string;
}

function rows(json: unknown): PsRow[] {
  const out: PsRow[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      if (typeof o.pid === 'number' && typeof o.command === 'string') out.push({ pid: o.pid, command: o.command });
      for (const v of Object.values(o)) if (v && typeof v === 'object') walk(v);
    }
  };
  walk(json);
  return out;
}

test('ssh -G resolves the aliases as ssh does, %n included', () => {
  const printed = execFileSync('ssh', ['-G', '-F', config, 'x-lab-b'], { encoding: 'utf8' });
  assert.match(printed, /^hostname 10\.77\.0\.12$/m);
  assert.match(printed, /^proxycommand ip netns exec pm-\$\(echo %n \| cut -c3-\) socat - TCP:%h:%p$/m, 'ssh leaves ProxyCommand tokens for connect time');
});

test('procmig ps --host <alias> reaches each host through its %n ProxyCommand', async () => {
  const marker = `sshcfg-e2e-${process.pid}`;
  const pids: Record<string, number> = {};
  for (const host of ['lab-a', 'lab-b']) {
    pids[host] = await startDetached(host, `sh -c 'sleep 300; : ${marker}-${host}'`);
    cleanup.push(() => kill(host, pids[host]!));
  }
  for (const [alias, host, other] of [
    ['x-lab-a', 'lab-a', 'lab-b'],
    ['x-lab-b', 'lab-b', 'lab-a'],
  ] as const) {
    const r = await procmig(['ps', '--host', alias, '--json'], { sshConfig: config });
    assert.equal(r.code, 0, r.stderr);
    const listed = rows(r.json);
    assert.ok(listed.some((p) => p.pid === pids[host] && p.command.includes(`${marker}-${host}`)), `${alias} lists ${host}'s sleep (pid ${pids[host]})`);
    assert.ok(!listed.some((p) => p.command.includes(`${marker}-${other}`)), `${alias} is not ${other}`);
  }
});

test('--ssh-config naming a missing file says so', async () => {
  const missing = join(dir, 'no-such-config');
  const r = await procmig(['ps', '--host', 'x-lab-a'], { sshConfig: missing });
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim(), `procmig: The ssh config ${missing} does not exist; check the path, or leave it out to use ~/.ssh/config.`);
});
