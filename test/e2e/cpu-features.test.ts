// A destination whose CPU lacks instruction sets the source has is refused before the freeze.
// The lab's two hosts share one CPU, so lab-b is given an older one: a second sshd of our own on
// lab-b (another port; the lab's sshd is shared and stays untouched) sets PROCMIG_TEST_CPUINFO,
// the helper's test-only switch, to a copy of lab-b's /proc/cpuinfo without fma, avx2 and bmi2.
// Reached under the alias `lab-b-oldcpu`, it is lab-b itself with that CPU.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { kill, onHost, procmig, sshConfig, startDetached, startTicker, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';

const ALIAS = 'lab-b-oldcpu';
const GONE = ['fma', 'avx2', 'bmi2'];

describe('CPU features', { timeout: 180_000 }, () => {
  const cleanup = useLab();

  /** Starts the second sshd on lab-b; returns an ssh_config with the lab's hosts and ALIAS. */
  async function oldCpuLabB(): Promise<string> {
    const dir = `/tmp/pm-cpufeat-${randomBytes(4).toString('hex')}`;
    const labB = readFileSync(sshConfig, 'utf8').split(/^Host /m).find((block) => block.startsWith('lab-b\n'))!;
    const address = /HostName\s+(\S+)/.exec(labB)![1];
    const identity = /IdentityFile\s+(\S+)/.exec(labB)![1];
    // A port nobody listens on there, a host key of its own, and the CPU without GONE.
    const out = await onHost(
      'lab-b',
      [
        `mkdir -m 700 ${dir}`,
        `ssh-keygen -q -t ed25519 -N '' -f ${dir}/host_key`,
        `sed -E '/^flags/ s/ (${GONE.join('|')})( |$)/ /g; /^flags/ s/ (${GONE.join('|')})( |$)/ /g' /proc/cpuinfo >${dir}/cpuinfo`,
        `port=$(awk 'BEGIN { srand(); print 40000 + int(rand() * 20000) }')`,
        `while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done`,
        `echo "port=$port"`,
        `echo "hostkey=$(cut -d' ' -f1-2 ${dir}/host_key.pub)"`,
      ].join(' && '),
    );
    const port = Number(/^port=(\d+)$/m.exec(out)![1]);
    const hostKey = /^hostkey=(.+)$/m.exec(out)![1];
    await onHost(
      'lab-b',
      `cat >${dir}/sshd_config <<'EOF'
ListenAddress ${address}:${port}
HostKey ${dir}/host_key
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile ${identity}.pub
UsePAM no
StrictModes no
AllowTcpForwarding yes
SetEnv PROCMIG_TEST_CPUINFO=${dir}/cpuinfo
EOF`,
    );
    const sshd = await startDetached('lab-b', `/usr/sbin/sshd -D -e -f ${dir}/sshd_config`);
    cleanup.push(() => onHost('lab-b', `kill ${sshd}; rm -rf ${dir}`).then(() => undefined));
    await waitFor(async () => (await onHost('lab-b', `ss -Hltn "sport = :${port}" | wc -l`)) !== '0');

    const local = mkdtempSync(join(tmpdir(), 'pm-cpufeat-'));
    cleanup.push(async () => rmSync(local, { recursive: true, force: true }));
    writeFileSync(join(local, 'known_hosts'), `[${address}]:${port} ${hostKey}\n`);
    const alias = labB
      .replace(/^lab-b\n/, `${ALIAS}\n`)
      .replace(/(HostName\s+\S+)/, `$1\n    Port ${port}`)
      .replace(/UserKnownHostsFile\s+\S+/, `UserKnownHostsFile ${join(local, 'known_hosts')}`);
    const config = join(local, 'ssh_config');
    writeFileSync(config, `${readFileSync(sshConfig, 'utf8').trimEnd()}\n\nHost ${alias}`);
    return config;
  }

  test('a destination without fma, avx2 and bmi2 is refused by name, and the process is never frozen', async () => {
    const config = await oldCpuLabB();
    const check = await procmig(['check', ALIAS, '--json'], { sshConfig: config });
    const flags: string[] = check.json?.[0]?.capabilities?.cpu?.flags ?? [];
    assert.ok(flags.includes('sse4_2'), `${ALIAS} reports its flags: ${check.stdout}${check.stderr}`);
    assert.ok(GONE.every((f) => !flags.includes(f)), `${ALIAS} has the older CPU: ${flags.join(' ')}`);

    const file = `/tmp/pm-cpufeat-ticker-${process.pid}`;
    const pid = await startTicker('lab-a', file);
    cleanup.push(() => kill('lab-a', pid));
    const r = await procmig(['migrate', String(pid), '--from', 'lab-a', '--to', ALIAS, '--json'], { sshConfig: config });
    assert.notEqual(r.code, 0);
    assert.equal(r.json?.ok, false, r.stdout + r.stderr);
    assert.equal(
      r.json.error,
      `${ALIAS}'s CPU lacks fma, avx2 and bmi2, which lab-a's has and the process may use (libraries choose instructions when it starts), so it could die of SIGILL there after the move; move it to a host whose CPU has the same features, or start it anew on ${ALIAS}.`,
    );
    // Refused in the preflight: no freeze, no dump, and the ticker ran on throughout.
    assert.equal(r.json.freezeMs, 0);
    assert.deepEqual(Object.keys(r.json.phases).filter((p) => !['connect', 'preflight', 'cleanup'].includes(p)), []);
    assert.equal(await stateOf('lab-a', pid), 'running');
    assert.ok(await tickerAdvances('lab-a', file));
  });
});
