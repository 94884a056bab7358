// Host key verification the way OpenSSH does it (sshconnect.c, hostfile.c), so that trusting a host
// in `ssh` trusts it here and a changed key is refused here as it is there. We never accept blindly:
// StrictHostKeyChecking=no is treated like accept-new.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { TransportError, type CertificateCheck, type HostKeyDecision, type StrictHostKeyChecking, type UnknownHostKey } from './host';
import { tilde } from '../common/paths';

export type KnownHostsMarker = 'revoked' | 'cert-authority';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number, as OpenSSH reports it. */
  line: number;
  marker?: KnownHostsMarker;
  /** Comma-separated patterns, or one hashed `|1|salt|hash` name. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** Parses known_hosts text; malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostsMarker | undefined;
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift()!.slice(1);
      if (m !== 'revoked' && m !== 'cert-authority') return;
      marker = m;
    }
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64) return;
    const key = Buffer.from(keyB64, 'base64');
    if (key.length === 0 || keyTypeOf(key) !== keyType) return;
    entries.push({ file, line: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Does the entry's host field match `name` (already in `knownHostsName` form)? */
export function entryMatchesHost(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (!pattern) continue;
    const negated = pattern.startsWith('!');
    if (globMatch(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false; // a matching negation vetoes the whole line
      matched = true;
    }
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , saltB64, hashB64] = field.split('|');
  if (!saltB64 || !hashB64) return false;
  const digest = createHmac('sha1', Buffer.from(saltB64, 'base64')).update(name).digest('base64');
  return digest === hashB64;
}

/** OpenSSH's match_pattern: `*` and `?`, case-insensitive for host names. */
export function globMatch(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(text);
}

export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${hash}`;
}

/** The key type is the first string inside the SSH wire-format public key blob. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const len = key.readUInt32BE(0);
  if (len > key.length - 4 || len > 64) return '';
  return key.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:` + unpadded base64, as `ssh-keygen -l` and the ssh prompt print it. */
export function fingerprintSha256(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; entry: KnownHostEntry; authority?: KnownHostEntry }
  | { status: 'unknown'; authority?: KnownHostEntry };

/** Looks `key` up for `name` in the parsed entries of all known_hosts files, in order. */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyCheck {
  const type = keyTypeOf(key);
  // Revocation wins over everything, and applies whatever host the line names.
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => !e.marker && entryMatchesHost(e.hosts, name));
  const known = forHost.find((e) => e.key.equals(key));
  if (known) return { status: 'known', entry: known };
  // A CA trusted for this host may have certified the key: a host certificate check decides.
  const authority = entries.find((e) => e.marker === 'cert-authority' && entryMatchesHost(e.hosts, name));
  const changed = forHost.find((e) => e.keyType === type);
  if (changed) return { status: 'changed', entry: changed, authority };
  return { status: 'unknown', authority };
}

export function readKnownHostsFiles(files: readonly string[]): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // missing files are normal (known_hosts2, the global file)
    }
    entries.push(...parseKnownHosts(text, file));
  }
  return entries;
}

/** True when the file already names its hosts hashed (`ssh-keygen -H`, HashKnownHosts), so a new
 * line keeps its style and does not reveal the name next to hashed ones. */
export function usesHashedNames(file: string): boolean {
  return readKnownHostsFiles([file]).some((e) => e.hosts.startsWith('|1|'));
}

/** Appends one line, creating the file 0600 and its directory 0700 like ssh does. */
export function appendKnownHost(file: string, name: string, key: Buffer, hashed: boolean): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const existing = readFileSync(file, 'utf8');
    if (existing.length && !existing.endsWith('\n')) prefix = '\n';
  } catch {
    // new file
  }
  const host = hashed ? hashHostName(name) : name;
  appendFileSync(file, `${prefix}${host} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
}

/**
 * Wraps the unknown-key question for one session (the extension's life, one CLI run): a key
 * trusted once is not asked about again, and connections racing to the same host (a batch opens
 * several) share one question instead of stacking dialogs.
 */
export function askOncePerSession(ask: (key: UnknownHostKey) => Promise<HostKeyDecision>): (key: UnknownHostKey) => Promise<HostKeyDecision> {
  const trusted = new Set<string>();
  const pending = new Map<string, Promise<HostKeyDecision>>();
  return async (key) => {
    const id = `${key.host}:${key.port} ${key.fingerprint}`;
    if (trusted.has(id)) return 'once';
    let question = pending.get(id);
    if (!question) {
      question = ask(key).finally(() => pending.delete(id));
      pending.set(id, question);
    }
    const decision = await question;
    if (decision !== 'reject') trusted.add(id);
    return decision;
  };
}

export type { StrictHostKeyChecking };

export interface HostKeyPolicy {
  /** Host name shown to the user (the alias they typed). */
  displayName: string;
  host: string;
  port: number;
  /** HostKeyAlias: replaces `[host]:port` as the lookup name. */
  hostKeyAlias?: string;
  userKnownHostsFiles: readonly string[];
  globalKnownHostsFiles: readonly string[];
  strict: StrictHostKeyChecking;
  hashKnownHosts: boolean;
  onUnknownHostKey?: (key: UnknownHostKey) => Promise<HostKeyDecision>;
  /** Asks whether the key is certified for the host by a CA of an @cert-authority line (ssh2 sees
   * only plain keys); without it such lines cannot vouch for a key. */
  checkCertificate?: (key: Buffer) => Promise<CertificateCheck>;
  log?: (line: string) => void;
}

/** Resolves when the key may be used; throws a TransportError saying why not otherwise. */
export async function verifyHostKey(policy: HostKeyPolicy, key: Buffer): Promise<void> {
  const name = policy.hostKeyAlias ?? knownHostsName(policy.host, policy.port);
  const files = [...policy.userKnownHostsFiles, ...policy.globalKnownHostsFiles];
  const result = checkHostKey(readKnownHostsFiles(files), name, key);
  const fp = fingerprintSha256(key);
  const type = keyTypeOf(key);
  const where = `${policy.displayName} (${policy.host}:${policy.port})`;
  switch (result.status) {
    case 'known':
      policy.log?.(`host key ${type} ${fp} for ${name} matches ${tilde(result.entry.file)}:${result.entry.line}`);
      return;
    case 'revoked':
      throw new TransportError(
        `The ${type} host key of ${where} (${fp}) is marked @revoked in ${tilde(result.entry.file)} line ${result.entry.line}; refusing to connect.`,
        'host-key-changed',
      );
    default:
      break;
  }
  // OpenSSH checks the host certificate first and falls back to the plain key when it fails.
  let certificateNote = '';
  if (result.authority) {
    const ca = `${tilde(result.authority.file)} line ${result.authority.line}`;
    const cert = policy.checkCertificate ? await policy.checkCertificate(key) : { ok: false as const, reason: 'nothing checks host certificates here' };
    if (cert.ok) {
      policy.log?.(`host key ${type} ${fp} for ${name} is certified by the @cert-authority in ${ca}: ${cert.certificate}`);
      return;
    }
    policy.log?.(`the @cert-authority in ${ca} does not vouch for ${type} ${fp}: ${cert.reason}`);
    certificateNote = ` (the @cert-authority line in ${ca} does not vouch for it: ${cert.reason})`;
  }
  switch (result.status) {
    case 'changed': {
      const { file, line } = result.entry;
      const fileArg = file === defaultUserKnownHosts() ? '' : ` -f ${tilde(file)}`;
      // OpenSSH's words, in one sentence; there is deliberately no way to accept it from here.
      throw new TransportError(
        `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${where}: its ${type} host key is now ${fp}, not the one in ${tilde(file)} line ${line}, so someone may be intercepting the connection (man-in-the-middle) or the host was reinstalled; if you are sure the new key is right, run \`ssh-keygen${fileArg} -R '${name}'\` and connect again.`,
        'host-key-changed',
      );
    }
    case 'unknown':
      break;
  }
  const userFile = policy.userKnownHostsFiles[0] ?? defaultUserKnownHosts();
  const record = () => {
    // Another connection may have recorded it while the user was being asked.
    if (checkHostKey(readKnownHostsFiles([userFile]), name, key).status === 'known') return;
    appendKnownHost(userFile, name, key, policy.hashKnownHosts || usesHashedNames(userFile));
    policy.log?.(`recorded ${type} ${fp} for ${name} in ${tilde(userFile)}`);
  };
  if (policy.strict === 'accept-new') {
    record();
    return;
  }
  if (policy.strict === 'ask' && policy.onUnknownHostKey) {
    const decision = await policy.onUnknownHostKey({
      name: policy.displayName,
      host: policy.hostKeyAlias ?? policy.host,
      port: policy.port,
      keyType: type,
      fingerprint: fp,
      knownHostsFile: userFile,
    });
    if (decision === 'always') record();
    if (decision === 'once' || decision === 'always') return;
    throw new TransportError(`Not connected to ${where}: its ${type} host key ${fp} was not trusted.`, 'host-key-unknown');
  }
  const scanPort = policy.port === 22 ? '' : `-p ${policy.port} `;
  throw new TransportError(
    `The host key of ${where} is not in ${tilde(userFile)}: ${type} ${fp}${certificateNote}; after checking this fingerprint with the host's owner, trust it with \`ssh-keyscan ${scanPort}${policy.host} >> ${tilde(userFile)}\` or by connecting once with \`ssh ${policy.displayName}\`.`,
    'host-key-unknown',
  );
}

export function defaultUserKnownHosts(): string {
  return `${homedir()}/.ssh/known_hosts`;
}
