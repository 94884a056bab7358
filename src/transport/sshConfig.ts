// Resolves a host name the way `ssh` would, through ~/.ssh/config, so that every alias that works in
// a terminal works here with the same user, port, keys, proxies and known_hosts files.
import { readdirSync, readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import SSHConfig from 'ssh-config';
import { TransportError } from './host';
import type { StrictHostKeyChecking } from './knownHosts';

export interface ResolvedHost {
  /** The name as given (alias or `user@host[:port]`). */
  name: string;
  /** The alias part of `name`, what the config was matched against. */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** Absolute paths, in the order to try; may not exist. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** With %h %p %r %% already expanded; run with `sh -c`. */
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
}

export interface ResolveOptions {
  sshConfigFile?: string;
  /** For tests: the home directory and local user tokens expand to. */
  home?: string;
  localUser?: string;
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

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function all(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap(splitWords);
}

function yes(value: string | undefined): boolean {
  return value?.toLowerCase() === 'yes' || value?.toLowerCase() === 'true';
}

function seconds(value: string | undefined, fallbackMs: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n * 1000 : fallbackMs;
}

/** Pure resolution (no DNS): config file → everything the connection needs. */
export function resolveSshHost(name: string, options: ResolveOptions = {}): ResolvedHost {
  const home = options.home ?? homedir();
  const localUser = options.localUser ?? safeLocalUser();
  const dest = parseDestination(name);
  const config = parseSshConfig(options.sshConfigFile ?? defaultSshConfigFile(home), home);
  // Match exec would run arbitrary commands while merely listing or resolving hosts: off.
  const c = config.compute(dest.host, { ignoreCase: true, matchExec: false }) as Record<string, string | string[] | undefined>;

  const port = dest.port ?? (Number(first(c.port)) || 22);
  const user = dest.user ?? first(c.user) ?? localUser;
  const hostName = (first(c.hostname) ?? dest.host).replace(/%h/g, dest.host).replace(/%%/g, '%');

  const tokens = (text: string) =>
    text.replace(/%([%dhupr])/g, (_, t: string) =>
      ({ '%': '%', d: home, h: hostName, u: localUser, p: String(port), r: user })[t]!,
    );
  const path = (p: string) => {
    const expanded = tokens(p);
    if (expanded === '~') return home;
    if (expanded.startsWith('~/')) return join(home, expanded.slice(2));
    return isAbsolute(expanded) ? expanded : resolvePath(home, expanded);
  };

  const explicitIds = all(c.identityfile).filter((f) => f.toLowerCase() !== 'none');
  const identityFiles = (explicitIds.length ? explicitIds : ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa']).map(path);

  const proxyJumpRaw = first(c.proxyjump);
  const proxyJump =
    proxyJumpRaw && proxyJumpRaw.toLowerCase() !== 'none' ? proxyJumpRaw.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const proxyCommandRaw = Array.isArray(c.proxycommand) ? c.proxycommand.join(' ') : c.proxycommand;
  const proxyCommand =
    proxyCommandRaw && proxyCommandRaw.toLowerCase() !== 'none' && !proxyJump.length ? tokens(proxyCommandRaw) : undefined;

  const userKnown = all(c.userknownhostsfile).filter((f) => f.toLowerCase() !== 'none');
  const globalKnown = all(c.globalknownhostsfile).filter((f) => f.toLowerCase() !== 'none');

  const strictRaw = (first(c.stricthostkeychecking) ?? 'ask').toLowerCase();
  // `no`/`off` would disable checking in OpenSSH; we never do that, they behave like accept-new.
  const strictHostKeyChecking: StrictHostKeyChecking =
    strictRaw === 'yes' || strictRaw === 'true' ? 'yes' : strictRaw === 'ask' ? 'ask' : 'accept-new';

  return {
    name,
    alias: dest.host,
    hostName,
    port,
    user,
    identityFiles,
    identitiesOnly: yes(first(c.identitiesonly)),
    proxyCommand,
    proxyJump,
    userKnownHostsFiles: (userKnown.length ? userKnown : ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).map(path),
    globalKnownHostsFiles: (globalKnown.length ? globalKnown : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']).map(path),
    strictHostKeyChecking,
    hashKnownHosts: yes(first(c.hashknownhosts)),
    hostKeyAlias: first(c.hostkeyalias),
    connectTimeoutMs: seconds(first(c.connecttimeout), DEFAULT_CONNECT_TIMEOUT_MS),
    serverAliveIntervalMs: seconds(first(c.serveraliveinterval), DEFAULT_SERVER_ALIVE_MS),
  };
}

/** Fails early with a sentence when the name is neither configured nor resolvable. Names reached
 * through a proxy are left to the proxy, which may see a different DNS. */
export async function checkResolvable(host: ResolvedHost): Promise<void> {
  if (host.proxyCommand || host.proxyJump.length || isIP(host.hostName)) return;
  try {
    await lookup(host.hostName);
  } catch (err) {
    const configured = host.hostName !== host.alias;
    throw new TransportError(
      configured
        ? `Unknown host ${host.name}: its HostName ${host.hostName} does not resolve; check the HostName in ~/.ssh/config.`
        : `Unknown host ${host.name}: it is not a Host in ~/.ssh/config and does not resolve in DNS; add a Host entry or use user@address[:port].`,
      'unknown-host',
      { cause: err },
    );
  }
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

function safeLocalUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}
