// A real OpenSSH sshd on 127.0.0.1 that nobody trusts yet: its own host key, key-only root login
// with a passphrase-protected client key, and an ssh_config whose hosts each have their own
// (missing) known_hosts file. Used by the host-trust tests in the extension host (mocha) and in
// the workbench (Playwright). Everything is async: the extension host must not block.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../e2e/support/net';
import { statFields } from './procStat';

const run = promisify(execFile);

export interface ThrowawaySshd {
  dir: string;
  port: number;
  sshConfig: string;
  /** The encrypted IdentityFile and its passphrase. */
  identityFile: string;
  passphrase: string;
  /** `ssh-ed25519 AAAA…` of the server's host key, and its `SHA256:…` fingerprint. */
  hostKey: string;
  hostFingerprint: string;
  /** The UserKnownHostsFile of `alias` (not created). */
  knownHosts(alias: string): string;
  /** The server goes away as a crashed or restarted one does: sshd and every connection it
   * serves are killed, and nothing listens on the port until `resume()`. */
  interrupt(): Promise<void>;
  /** Starts sshd again on the same port with the same keys. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, sshd: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (sshd.exitCode !== null) throw new Error(`sshd exited (${sshd.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => (sock.destroy(), resolve(false)));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

export interface ThrowawaySshdOptions {
  passphrase?: string;
  /** All aliases share one UserKnownHostsFile, as ~/.ssh/known_hosts is shared. */
  sharedKnownHosts?: boolean;
}

export async function startThrowawaySshd(aliases: readonly string[], options: ThrowawaySshdOptions = {}): Promise<ThrowawaySshd> {
  const passphrase = options.passphrase ?? 'correct horse battery';
  const dir = mkdtempSync(join(tmpdir(), 'pm-trust-sshd-'));
  const keygen = (file: string, pass: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', pass, '-C', 'pm-trust-test', '-f', file]);
  await keygen(join(dir, 'host_ed25519'), '');
  const identityFile = join(dir, 'id_locked');
  await keygen(identityFile, passphrase);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identityFile}.pub`));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PidFile none',
      'AllowTcpForwarding yes',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const knownHosts = (alias: string) => join(dir, options.sharedKnownHosts ? 'shared' : alias, 'ssh', 'known_hosts');
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    aliases
      .map((alias) =>
        [
          `Host ${alias}`,
          '  HostName 127.0.0.1',
          `  Port ${port}`,
          '  User root',
          `  IdentityFile ${identityFile}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${knownHosts(alias)}`,
          '  GlobalKnownHostsFile /dev/null',
          '  ConnectTimeout 10',
          '',
        ].join('\n'),
      )
      .join(''),
  );

  let log = '';
  const launch = () => {
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-10_000);
    });
    return child;
  };
  let sshd = launch();
  const end = async (signal: NodeJS.Signals) => {
    if (sshd.exitCode === null && sshd.signalCode === null) {
      const exited = new Promise((r) => sshd.once('exit', r));
      sshd.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (sshd.exitCode === null && sshd.signalCode === null) sshd.kill('SIGKILL');
    }
  };
  const stop = async () => {
    await end('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const interrupt = async () => {
    // Connections live in sshd's children (each in a session of its own), which outlive it.
    const sessions = sshd.pid ? descendants(sshd.pid) : [];
    await end('SIGKILL');
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const resume = async () => {
    sshd = launch();
    await waitForPort(port, sshd, () => log);
  };
  try {
    await waitForPort(port, sshd, () => log);
    const hostKey = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const hostFingerprint = (await run('ssh-keygen', ['-l', '-f', join(dir, 'host_ed25519.pub')])).stdout.split(/\s+/)[1]!;
    return { dir, port, sshConfig, identityFile, passphrase, hostKey, hostFingerprint, knownHosts, interrupt, resume, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Every process under `root` (not `root` itself), from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parents.set(Number(entry), Number(statFields(entry)[1]));
    } catch {
      // ended meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

/** `ssh-keygen -F`: does OpenSSH itself find `key` for the host in `file`? */
export async function openSshFinds(file: string, port: number, key: string): Promise<boolean> {
  try {
    const { stdout } = await run('ssh-keygen', ['-F', `[127.0.0.1]:${port}`, '-f', file]);
    return stdout.split('\n').some((line) => line.trim().endsWith(key));
  } catch {
    return false; // exit 1: not found
  }
}
