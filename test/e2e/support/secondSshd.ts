// A second sshd of a test's own on a lab host (another port; the lab's sshd is shared by every
// suite and stays untouched), reached under an alias of its own: the same host, seen through a
// session environment or a mount namespace that the test changes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onHost, sshConfig, startDetached, waitFor } from './lab';

export interface SecondSshd {
  /** The lab's ssh_config plus a `Host <alias>` entry for this sshd. */
  config: string;
  /** Its private directory on the host (host key, config, files the test puts there). */
  dir: string;
}

/**
 * `host`: lab-a or lab-b. `setEnv`: sshd's SetEnv for every session, given the directory. `prepare`: shell run first
 * on the host, in `$dir`. `wrap`: how sshd is started (e.g. inside `unshare -m …`), given its
 * command line. What it starts is pushed onto `cleanup`.
 */
export async function secondSshd(
  host: 'lab-a' | 'lab-b',
  alias: string,
  cleanup: (() => Promise<void>)[],
  options: { setEnv?: (dir: string) => Record<string, string>; prepare?: string; wrap?: (sshd: string) => string } = {},
): Promise<SecondSshd> {
  const dir = `/tmp/pm-sshd-${randomBytes(4).toString('hex')}`;
  const entry = readFileSync(sshConfig, 'utf8').split(/^Host /m).find((block) => block.startsWith(`${host}\n`))!;
  const address = /HostName\s+(\S+)/.exec(entry)![1];
  const identity = /IdentityFile\s+(\S+)/.exec(entry)![1];
  // A port nobody listens on there, and a host key of its own.
  const out = await onHost(
    host,
    [
      `mkdir -m 700 ${dir}`,
      `cd ${dir}`,
      `ssh-keygen -q -t ed25519 -N '' -f ${dir}/host_key`,
      // The lab's client key, copied: a checkout under /tmp is not visible on the host.
      `echo '${readFileSync(`${identity}.pub`, 'utf8').trim()}' >${dir}/authorized_keys`,
      ...(options.prepare ? [options.prepare] : []),
      `port=$(awk 'BEGIN { srand(); print 40000 + int(rand() * 20000) }')`,
      `while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done`,
      `echo "port=$port"`,
      `echo "hostkey=$(cut -d' ' -f1-2 ${dir}/host_key.pub)"`,
    ].join(' && '),
  );
  const port = Number(/^port=(\d+)$/m.exec(out)![1]);
  const hostKey = /^hostkey=(.+)$/m.exec(out)![1];
  const setEnv = Object.entries(options.setEnv?.(dir) ?? {}).map(([k, v]) => `SetEnv ${k}=${v}\n`).join('');
  await onHost(
    host,
    `cat >${dir}/sshd_config <<'EOF'
ListenAddress ${address}:${port}
HostKey ${dir}/host_key
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile ${dir}/authorized_keys
UsePAM no
StrictModes no
AllowTcpForwarding yes
${setEnv}EOF`,
  );
  const sshd = `/usr/sbin/sshd -D -e -f ${dir}/sshd_config`;
  const pid = await startDetached(host, options.wrap ? options.wrap(sshd) : sshd);
  cleanup.push(() => onHost(host, `pkill -P ${pid} 2>/dev/null; kill ${pid}; rm -rf ${dir}`).then(() => undefined));
  await waitFor(async () => (await onHost(host, `ss -Hltn "sport = :${port}" | wc -l`)) !== '0');

  const local = mkdtempSync(join(tmpdir(), 'pm-sshd-'));
  cleanup.push(async () => rmSync(local, { recursive: true, force: true }));
  writeFileSync(join(local, 'known_hosts'), `[${address}]:${port} ${hostKey}\n`);
  const aliased = entry
    .replace(new RegExp(`^${host}\\n`), `${alias}\n`)
    .replace(/(HostName\s+\S+)/, `$1\n    Port ${port}`)
    .replace(/UserKnownHostsFile\s+\S+/, `UserKnownHostsFile ${join(local, 'known_hosts')}`);
  const config = join(local, 'ssh_config');
  writeFileSync(config, `${readFileSync(sshConfig, 'utf8').trimEnd()}\n\nHost ${aliased}`);
  return { config, dir };
}
