// Resolves a host name the way `ssh` would, through ~/.ssh/config, so that every alias that works in
// a terminal works here with the same user, port, keys, proxies and known_hosts files.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import { TransportError, type StrictHostKeyChecking } from './host';
import { evaluateConfigFiles, type SshOptions } from './sshConfigFallback';
import { ALLOWED_TOKENS, connectionHash, expandFileKeyword, expandTilde, expandTokens, localTokens, type TokenValues } from './sshTokens';

export interface ResolvedHost {
  /** The name as given (alias or `user@host[:port]`). */
  name: string;
  /** The alias part of `name`, what the config was matched against (ssh's %n). */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** Absolute paths, in the order to try; may not exist. */
  identityFiles: string[];
  /** CertificateFile: OpenSSH user certificates, absolute; may not exist. */
  certificateFiles: string[];
  identitiesOnly: boolean;
  /** With its tokens (%h %k %n %p %r %%) expanded; run with `sh -c`. */
  proxyCommand?: string;
  /** Jump hops, first to last, as written (`[user@]host[:port]` or aliases). */
  proxyJump: string[];
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  hashKnownHosts: boolean;
  hostKeyAlias?: string;
  connectTimeoutMs: number;
  serverAliveIntervalMs: number;
  /** The config file given with `-F`, if any (jump hops and `ssh` itself are pointed at it too). */
  sshConfigFile?: string;
  /** Who evaluated the config: OpenSSH itself (`ssh -G`) or our reading of the files. */
  resolvedBy: 'ssh -G' | 'fallback';
}

export interface ResolveOptions {
  sshConfigFile?: string;
  /** The `ssh` to ask (`ssh -G`); false reads the files by hand, as when OpenSSH is absent. */
  ssh?: string | false;
  /** For tests: the home directory and local user tokens expand to. */
  home?: string;
  localUser?: string;
  /** For tests of the fallback: the system-wide file read after the user's (no `-F`). */
  systemConfigFile?: string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_SERVER_ALIVE_MS = 15_000;
const MAX_INCLUDE_DEPTH = 16; // OpenSSH's READCONF_MAX_DEPTH

export function defaultSshConfigFile(home = homedir()): string {
  return join(home, '.ssh', 'config');
}

/** Reads a config file with its Include directives inlined (ssh-config does not follow them). */
export function readSshConfigText(file: string, home = homedir(), depth = 0): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new TransportError(`Cannot read the ssh config ${file}: ${(err as Error).message}.`, 'config', { cause: err });
  }
  if (depth >= MAX_INCLUDE_DEPTH) {
    throw new TransportError(`The ssh config ${file} nests Include too deeply (a loop?).`, 'config');
  }
  return text
    .split('\n')
    .map((line) => {
      const m = /^\s*include(?:\s*=\s*|\s+)(.+?)\s*$/i.exec(line);
      if (!m) return line;
      return splitWords(m[1]!)
        .flatMap((pattern) => expandIncludePattern(pattern, home))
        .map((included) => readSshConfigText(included, home, depth + 1))
        .join('\n');
    })
    .join('\n');
}

/** Relative Include paths are relative to ~/.ssh, as in OpenSSH; `*` and `?` glob in the last part. */
function expandIncludePattern(pattern: string, home: string): string[] {
  let path = pattern.startsWith('~/') ? join(home, pattern.slice(2)) : pattern;
  if (!isAbsolute(path)) path = join(home, '.ssh', path);
  const base = path.split('/').pop()!;
  if (!/[*?]/.test(base)) return [path];
  const dir = dirname(path);
  const re = new RegExp('^' + base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  try {
    return readdirSync(dir)
      .filter((f) => re.test(f) && !f.startsWith('.'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

function splitWords(value: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m; (m = re.exec(value)); ) words.push(m[1] ?? m[2]!);
  return words;
}

export function parseSshConfig(file: string, home = homedir()): SSHConfig {
  return SSHConfig.parse(readSshConfigText(file, home));
}

/** Splits `user@host:port` / `host:port` / `[v6]:port`; a plain alias comes back as `{ host }`. */
export function parseDestination(spec: string): { user?: string; host: string; port?: number } {
  let rest = spec.replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) {
    rest = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const colon = /^([^:]+):(\d+)$/.exec(rest);
    if (colon) {
      rest = colon[1]!;
      port = Number(colon[2]);
    }
  }
  return { user: user || undefined, host: rest, port };
}

/** Resolves `name` exactly as `ssh` would: `ssh -G` where OpenSSH is installed, else our reading
 * of the files. Runs `Match exec` commands, as ssh does: call it to connect, not to list hosts. */
export async function resolveHost(name: string, options: ResolveOptions = {}): Promise<ResolvedHost> {
  const file = options.sshConfigFile;
  if (file && !existsSync(file)) {
    throw new TransportError(`The ssh config ${file} does not exist; check the path, or leave it out to use ~/.ssh/config.`, 'config');
  }
  const dest = parseDestination(name);
  const local = localTokens(options.home, options.localUser);
  const printed = options.ssh === false ? undefined : await printWithOpenSsh(dest, file, options.ssh ?? 'ssh');
  if (printed) return fromPrinted(name, dest.host, printed, local, file, 'ssh -G');
  const evaluated = await evaluateConfigFiles({ host: dest.host, user: dest.user, port: dest.port, configFile: file, systemConfigFile: options.systemConfigFile, local });
  return fromPrinted(name, dest.host, evaluated, local, file, 'fallback');
}

/** `ssh -G`: the options ssh would use, or undefined when there is no `ssh` to ask. ControlPath=%C
 * makes it print its own %C, which it hashes differently across versions. */
function printWithOpenSsh(dest: ReturnType<typeof parseDestination>, file: string | undefined, ssh: string): Promise<SshOptions | undefined> {
  const args = ['-G', '-T', ...(file ? ['-F', file] : []), ...(dest.user ? ['-l', dest.user] : []), ...(dest.port ? ['-p', String(dest.port)] : []), '-o', 'ControlPath=%C', dest.host];
  return new Promise((resolve, reject) => {
    const child = execFile(ssh, args, { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve(undefined);
      if (err) {
        const why = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Pseudo-terminal/.test(l)).pop() ?? err.message;
        return reject(new TransportError(`OpenSSH cannot use the ssh config${file ? ` ${file}` : ''} for ${dest.host}: ${why.replace(/\.$/, '')}.`, 'config', { cause: err }));
      }
      const printed: SshOptions = {};
      for (const line of stdout.split('\n')) {
        const m = /^(\S+) (.*)$/.exec(line);
        if (m) (printed[m[1]!.toLowerCase()] ??= []).push(m[2]!);
      }
      resolve(printed);
    });
    child.stdin?.end();
  });
}

/** From what `ssh -G` prints (or the fallback's imitation) to what the connection needs. ssh -G
 * expands HostName, User and UserKnownHostsFile itself; IdentityFile, CertificateFile and
 * ProxyCommand it expands only when connecting, so that is done here, with ssh's values. */
function fromPrinted(name: string, alias: string, p: SshOptions, local: ReturnType<typeof localTokens>, sshConfigFile: string | undefined, resolvedBy: ResolvedHost['resolvedBy']): ResolvedHost {
  const one = (k: string) => p[k]?.[0];
  const words = (k: string) => (one(k) ?? '').split(/\s+/).filter((w) => w && w.toLowerCase() !== 'none');
  const hostName = one('hostname') ?? alias;
  const port = Number(one('port')) || 22;
  const user = one('user') ?? local.u;
  const jump = one('proxyjump');
  const proxyJump = jump && jump.toLowerCase() !== 'none' ? jump.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const hostKeyAlias = one('hostkeyalias');
  const values: TokenValues = { ...local, h: hostName, n: alias, p: String(port), r: user, j: proxyJump.join(','), k: hostKeyAlias ?? alias, C: '' };
  values.C = one('controlpath') ?? connectionHash(values);
  const files = (k: string, keyword: string) => (p[k] ?? []).filter((f) => f.toLowerCase() !== 'none').map((f) => expandFileKeyword(f, values, keyword));
  const command = one('proxycommand');
  const strict = (one('stricthostkeychecking') ?? 'ask').toLowerCase();
  const seconds = (k: string, fallbackMs: number) => {
    const n = Number(one(k));
    return Number.isFinite(n) && n > 0 ? n * 1000 : fallbackMs;
  };
  return {
    name,
    alias,
    hostName,
    port,
    user,
    identityFiles: files('identityfile', 'IdentityFile'),
    certificateFiles: files('certificatefile', 'CertificateFile'),
    identitiesOnly: yes(one('identitiesonly')),
    proxyCommand: command && command.toLowerCase() !== 'none' && !proxyJump.length ? expandTokens(command, values, ALLOWED_TOKENS.proxy, 'ProxyCommand') : undefined,
    proxyJump,
    userKnownHostsFiles: words('userknownhostsfile').map((f) => expandTilde(f, local.d)),
    globalKnownHostsFiles: words('globalknownhostsfile').map((f) => expandTilde(f, local.d)),
    // `no`/`off` would disable checking in OpenSSH; we never do that, they behave like accept-new.
    strictHostKeyChecking: strict === 'yes' || strict === 'true' ? 'yes' : strict === 'ask' ? 'ask' : 'accept-new',
    hashKnownHosts: yes(one('hashknownhosts')),
    hostKeyAlias,
    connectTimeoutMs: seconds('connecttimeout', DEFAULT_CONNECT_TIMEOUT_MS),
    serverAliveIntervalMs: seconds('serveraliveinterval', DEFAULT_SERVER_ALIVE_MS),
    sshConfigFile,
    resolvedBy,
  };
}

function yes(value: string | undefined): boolean {
  return value?.toLowerCase() === 'yes' || value?.toLowerCase() === 'true';
}

/** Fails early with a sentence when the name is neither configured nor resolvable. Names reached
 * through a proxy are left to the proxy, which may see a different DNS. */
export async function checkResolvable(host: ResolvedHost): Promise<void> {
  if (host.proxyCommand || host.proxyJump.length || isIP(host.hostName)) return;
  try {
    await lookup(host.hostName);
  } catch (err) {
    const configured = host.hostName !== host.alias.toLowerCase();
    const file = configFileName(host);
    throw new TransportError(
      configured
        ? `Unknown host ${host.name}: its HostName ${host.hostName} does not resolve; check the HostName in ${file}.`
        : `Unknown host ${host.name}: it is not a Host in ${file} and does not resolve in DNS; add a Host entry or use user@address[:port].`,
      'unknown-host',
      { cause: err },
    );
  }
}

/** The config file as messages name it. */
export function configFileName(host: Pick<ResolvedHost, 'sshConfigFile'>): string {
  return host.sshConfigFile ?? '~/.ssh/config';
}

/** Concrete Host aliases (no wildcards or negations), in file order, for pickers and trees. */
export function listConfiguredHosts(sshConfigFile?: string, home = homedir()): string[] {
  let config: SSHConfig;
  try {
    config = parseSshConfig(sshConfigFile ?? defaultSshConfigFile(home), home);
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE || line.param.toLowerCase() !== 'host') continue;
    const values = typeof line.value === 'string' ? [line.value] : line.value.map((v) => v.val);
    for (const v of values.flatMap(splitWords)) {
      if (!/[*?!]/.test(v) && !names.includes(v)) names.push(v);
    }
  }
  return names;
}
