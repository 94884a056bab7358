// Opens one authenticated ssh2 Client for a resolved host: picks the socket (ProxyJump, ProxyCommand
// or direct TCP), verifies the host key against known_hosts, tries auth methods in ssh's order, and
// turns every failure into one TransportError sentence.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { Client, utils, type AuthenticationType, type ConnectConfig, type NextAuthHandler, type ParsedKey } from 'ssh2';
import { OpenSSHAgentFiltered } from './sshAgent';
import { TransportError, type HostOptions } from './host';
import { verifyHostKey } from './knownHosts';
import { verifyHostCertificate } from './hostCertificate';
import { resolveHost, checkResolvable, type ResolvedHost } from './sshConfig';
import { tilde } from '../common/paths';

export interface OpenClient {
  client: Client;
  resolved: ResolvedHost;
  /** Releases what the socket needed (proxy process, jump connection). Idempotent. */
  dispose(): void;
}

const MAX_JUMP_DEPTH = 8;

export async function openClient(resolved: ResolvedHost, options: HostOptions, depth = 0): Promise<OpenClient> {
  const log = (line: string) => options.log?.(`ssh ${resolved.name}: ${line}`);
  const target = `${resolved.hostName}:${resolved.port}`;
  await checkResolvable(resolved);

  const cleanups: (() => void)[] = [];
  const dispose = () => {
    for (const c of cleanups.splice(0)) {
      try {
        c();
      } catch {
        // best effort
      }
    }
  };

  let sock: Duplex | undefined;
  let via = '';
  let proxyStderr = '';
  try {
    if (resolved.proxyJump.length) {
      if (depth >= MAX_JUMP_DEPTH) throw new TransportError(`ProxyJump for ${resolved.name} nests more than ${MAX_JUMP_DEPTH} hops (a loop in ~/.ssh/config?).`, 'config');
      const hops = resolved.proxyJump;
      // Like `ssh -J a,b c`: reach b through a, then ask b to open a TCP stream to c.
      const hop = await resolveHost(hops[hops.length - 1]!, { sshConfigFile: options.sshConfigFile });
      if (hops.length > 1) {
        hop.proxyJump = hops.slice(0, -1);
        hop.proxyCommand = undefined;
      }
      via = ` via ProxyJump ${hops.join(',')}`;
      log(`connecting to ${target}${via}`);
      const jump = await openClient(hop, options, depth + 1);
      cleanups.push(() => {
        jump.client.end();
        jump.dispose();
      });
      sock = await new Promise<Duplex>((resolve, reject) =>
        jump.client.forwardOut('127.0.0.1', 0, resolved.hostName, resolved.port, (err, stream) =>
          err
            ? reject(new TransportError(`Cannot reach ${resolved.name} (${target}) from jump host ${hop.name}: ${err.message}. Check the address in ~/.ssh/config and that ${hop.name} may forward TCP.`, 'unreachable', { cause: err }))
            : resolve(stream),
        ),
      );
    } else if (resolved.proxyCommand) {
      via = ` via ProxyCommand`;
      log(`connecting to ${target} via ProxyCommand: ${resolved.proxyCommand}`);
      const child = spawn('sh', ['-c', resolved.proxyCommand], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stderr.on('data', (d: Buffer) => {
        proxyStderr = (proxyStderr + d.toString()).slice(-2000);
      });
      child.stdin.on('error', () => {}); // EPIPE when the proxy dies; reported through ssh2's close
      child.on('error', (err) => log(`ProxyCommand failed to start: ${err.message}`));
      cleanups.push(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      });
      sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
    } else {
      log(`connecting to ${target}`);
    }
  } catch (err) {
    dispose();
    throw err;
  }

  const client = new Client();
  let hostKeyError: TransportError | undefined;
  const auth = new AuthSequence(resolved, options, log);
  // ConnectTimeout as OpenSSH means it: until the server answers (its host key arrives), not through
  // what follows and waits for a person (trusting a key, typing a passphrase). ssh2's readyTimeout
  // would run until authentication is done, so it is off.
  let answerTimer: NodeJS.Timeout | undefined;

  const config: ConnectConfig = {
    host: resolved.hostName,
    port: resolved.port,
    username: resolved.user,
    sock,
    readyTimeout: 0,
    keepaliveInterval: resolved.serverAliveIntervalMs,
    keepaliveCountMax: 3,
    // The async verifier: known_hosts lookup, maybe a prompt, never a blind accept.
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      clearTimeout(answerTimer);
      verifyHostKey(
        {
          displayName: resolved.name,
          host: resolved.hostName,
          port: resolved.port,
          hostKeyAlias: resolved.hostKeyAlias,
          userKnownHostsFiles: resolved.userKnownHostsFiles,
          globalKnownHostsFiles: resolved.globalKnownHostsFiles,
          strict: resolved.strictHostKeyChecking,
          hashKnownHosts: resolved.hashKnownHosts,
          onUnknownHostKey: options.onUnknownHostKey,
          checkCertificate: (k) => verifyHostCertificate({ name: resolved.name, sshConfigFile: resolved.sshConfigFile, connectTimeoutMs: resolved.connectTimeoutMs }, k),
          log,
        },
        key,
      ).then(
        () => verify(true),
        (err: unknown) => {
          hostKeyError = err instanceof TransportError ? err : new TransportError(`Cannot verify the host key of ${resolved.name}: ${String(err)}.`, 'host-key-unknown', { cause: err });
          verify(false);
        },
      );
    },
    authHandler: (_left: AuthenticationType[], _partial: boolean, next: NextAuthHandler) => {
      auth.next().then(next, () => next(false as never));
    },
  };

  return new Promise<OpenClient>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(answerTimer);
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.end();
      dispose();
      reject(err);
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      log(`connected as ${resolved.user}${via}`);
      resolve({ client, resolved, dispose });
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      fail(hostKeyError ?? mapConnectError(err, resolved, via, proxyStderr, auth));
    });
    client.once('close', () => {
      if (settled) return;
      const extra = proxyStderr.trim() ? `: ${lastLine(proxyStderr)}` : '';
      fail(
        hostKeyError ??
          new TransportError(`Cannot reach ${resolved.name} (${target})${via}: the connection closed before the SSH handshake${extra}. Check that sshd runs there and the address in ~/.ssh/config.`, 'unreachable'),
      );
    });
    answerTimer = setTimeout(() => {
      fail(mapConnectError(Object.assign(new Error('no answer'), { level: 'client-timeout' }), resolved, via, proxyStderr, auth));
      client.destroy();
    }, resolved.connectTimeoutMs);
    try {
      client.connect(config);
    } catch (err) {
      fail(new TransportError(`Cannot connect to ${resolved.name}: ${(err as Error).message}.`, 'config', { cause: err }));
    }
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()!.trim();
}

function mapConnectError(err: Error & { level?: string; code?: string }, r: ResolvedHost, via: string, proxyStderr: string, auth: AuthSequence): TransportError {
  const target = `${r.hostName}:${r.port}`;
  if (err instanceof TransportError) return err;
  if (err.level === 'client-authentication') return auth.failure();
  if (err.level === 'client-timeout') {
    return new TransportError(`Cannot reach ${r.name} (${target})${via}: no SSH answer within ${r.connectTimeoutMs / 1000} s. Check the address in ~/.ssh/config and any firewall on the way.`, 'unreachable', { cause: err });
  }
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed',
  };
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new TransportError(`Unknown host ${r.name}: ${r.hostName} does not resolve in DNS; check the HostName in ~/.ssh/config.`, 'unknown-host', { cause: err });
  }
  const reason = (err.code && reasons[err.code]) ?? (proxyStderr.trim() ? lastLine(proxyStderr) : err.message.replace(/\.$/, ''));
  return new TransportError(`Cannot reach ${r.name} (${target})${via}: ${reason}. Check that sshd runs there and the address in ~/.ssh/config.`, 'unreachable', { cause: err });
}

/** Auth methods in ssh's order: agent first, then each IdentityFile that exists. */
class AuthSequence {
  private readonly tried: string[] = [];
  private readonly locked: string[] = [];
  private agent?: OpenSSHAgentFiltered;
  private steps: (() => Promise<Parameters<NextAuthHandler>[0] | undefined>)[];

  constructor(private readonly r: ResolvedHost, private readonly options: HostOptions, private readonly log: (line: string) => void) {
    this.steps = [];
    const agentSock = process.env.SSH_AUTH_SOCK;
    if (agentSock) {
      this.steps.push(async () => {
        // IdentitiesOnly: only the agent keys whose .pub sits next to a configured IdentityFile.
        const allowed = r.identitiesOnly ? r.identityFiles.map(readPublicBlob).filter((b): b is Buffer => !!b) : undefined;
        if (allowed && !allowed.length) return undefined;
        this.tried.push('agent');
        this.log('trying ssh-agent keys');
        this.agent = new OpenSSHAgentFiltered(agentSock, allowed);
        return { type: 'agent', username: r.user, agent: this.agent };
      });
    }
    for (const file of r.identityFiles) {
      this.steps.push(async () => {
        if (!existsSync(file)) return undefined;
        const key = await this.loadKey(file);
        if (!key) return undefined;
        this.tried.push(tilde(file));
        this.log(`trying key ${tilde(file)}`);
        return { type: 'publickey', username: r.user, key };
      });
    }
  }

  async next(): Promise<Parameters<NextAuthHandler>[0]> {
    while (this.steps.length) {
      const method = await this.steps.shift()!();
      if (method) return method;
    }
    return false as never; // ssh2: no more methods
  }

  private async loadKey(file: string): Promise<ParsedKey | undefined> {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      this.log(`cannot read ${tilde(file)}: ${(err as Error).message}`);
      return undefined;
    }
    let key = utils.parseKey(data);
    if (key instanceof Error && /no passphrase given/i.test(key.message)) {
      // The agent already offered this key (and the server refused it): no point unlocking it.
      const blob = readPublicBlob(file);
      if (blob && this.agent?.offered.some((k) => k.equals(blob))) {
        this.log(`skipping ${tilde(file)}: ssh-agent holds it and it was tried`);
        return undefined;
      }
      let unlocked: ParsedKey | undefined;
      const unlocks = (passphrase: string) => {
        const parsed = utils.parseKey(data, passphrase);
        if (parsed instanceof Error) return false;
        unlocked = Array.isArray(parsed) ? parsed[0] : parsed;
        return true;
      };
      const passphrase = await this.options.askPassphrase?.({ keyFile: file, unlocks });
      if (passphrase !== undefined && !unlocked) unlocks(passphrase); // a caller that did not check
      if (!unlocked) {
        this.locked.push(tilde(file));
        this.log(`skipping ${tilde(file)}: ${passphrase === undefined ? 'it needs a passphrase' : 'wrong passphrase'}`);
        return undefined;
      }
      return unlocked;
    }
    if (key instanceof Error) {
      this.log(`skipping ${tilde(file)}: ${key.message}`);
      return undefined;
    }
    return Array.isArray(key) ? key[0] : key;
  }

  failure(): TransportError {
    const r = this.r;
    const who = `Authentication as ${r.user} on ${r.name} (${r.hostName}:${r.port}) failed`;
    if (!this.tried.length && this.locked.length) {
      return new TransportError(
        `${who}: ${this.locked.join(', ')} is passphrase-protected and stayed locked; type its passphrase when asked, or load it into ssh-agent with ssh-add.`,
        'auth-failed',
      );
    }
    const tried = this.tried.length ? `tried ${this.tried.join(', ')}` : 'no key to try (no agent, no readable IdentityFile)';
    const locked = this.locked.length ? ` (${this.locked.join(', ')} stayed locked: unlock it when asked, or load it into ssh-agent with ssh-add)` : '';
    const certificates = userCertificates(r);
    if (certificates.length) {
      // ssh2 1.17 labels a publickey signature with the key's algorithm name; for a certificate that
      // is ssh-ed25519-cert-v01@openssh.com where sshd wants ssh-ed25519 ("key type does not match").
      const cert = certificates[0]!;
      const pub = cert.replace(/-cert\.pub$/, '.pub');
      return new TransportError(
        `${who}: ${tried}${locked}; ${tilde(cert)} is an OpenSSH user certificate, which procmig's SSH library (ssh2) cannot log in with, so add the plain public key ${tilde(pub)} to ${r.user}'s ~/.ssh/authorized_keys on ${r.name} instead (ssh-copy-id -i ${tilde(pub)} ${r.name}).`,
        'auth-failed',
      );
    }
    return new TransportError(
      `${who}: ${tried}${locked}; add your public key to ${r.user}'s ~/.ssh/authorized_keys on ${r.name} (ssh-copy-id ${r.name}) or set User/IdentityFile in ~/.ssh/config.`,
      'auth-failed',
    );
  }
}

/** The user certificates ssh would offer: CertificateFile, and `<IdentityFile>-cert.pub` beside a key. */
function userCertificates(r: ResolvedHost): string[] {
  return [...r.certificateFiles, ...r.identityFiles.map((f) => `${f}-cert.pub`)].filter((f, i, all) => all.indexOf(f) === i && existsSync(f));
}

function readPublicBlob(identityFile: string): Buffer | undefined {
  try {
    const fields = readFileSync(`${identityFile}.pub`, 'utf8').trim().split(/\s+/);
    return fields[1] ? Buffer.from(fields[1], 'base64') : undefined;
  } catch {
    return undefined;
  }
}
