// The transport against a real OpenSSH sshd on 127.0.0.1 (random port, own host key, key-only root
// login), configured through a temp ssh_config exactly as a user would. Everything lives in one temp
// dir; the sshd is killed at the end, also on failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { HostPool } from '../../src/transport/hostPool';
import { TransportError, type Host, type HostOptions } from '../../src/transport/host';
import { freePort } from './support/net';

const SSHD = '/usr/sbin/sshd';
const haveSshd = existsSync(SSHD);
const haveSocat = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v socat'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const dir = mkdtempSync(join(tmpdir(), 'pm-transport-e2e-'));
let sshd: ChildProcess | undefined;
let sshdLog = '';
let port = 0;
let deadPort = 0;
let silentPort = 0;
let silent: ReturnType<typeof createServer> | undefined;
const silentSockets: { destroy(): void }[] = [];
let hostPubLine = '';
let hostFingerprint = '';
const pools: HostPool[] = [];
const logs: string[] = [];

function waitForPort(p: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = netConnect({ host: '127.0.0.1', port: p });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${p}: ${sshdLog}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pm-test', '-f', file], { stdio: 'ignore' });
}

function pool(extra: HostOptions = {}): HostPool {
  const p = new HostPool({ sshConfigFile: join(dir, 'ssh_config'), log: (l) => logs.push(l), ...extra });
  pools.push(p);
  return p;
}

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TransportError, `expected a TransportError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('transport over a real sshd', { skip: !haveSshd && 'openssh-server is not installed (apt-get install -y openssh-server)' }, () => {
  before(async () => {
    // No agent from the developer's session: the test must depend only on its own key.
    delete process.env.SSH_AUTH_SOCK;
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    keygen(join(dir, 'host_ed25519'));
    keygen(join(dir, 'id_ed25519'));
    keygen(join(dir, 'other_ed25519'));
    keygen(join(dir, 'impostor_ed25519'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-C', 'pm-test', '-f', join(dir, 'locked_ed25519')], { stdio: 'ignore' });
    // A host certificate for the sshd's key, signed by a test CA, for 127.0.0.1.
    keygen(join(dir, 'ca_ed25519'));
    execFileSync('ssh-keygen', ['-q', '-s', join(dir, 'ca_ed25519'), '-I', 'pm-test-host', '-h', '-n', '127.0.0.1', '-V', '-5m:+1d', join(dir, 'host_ed25519.pub')], { stdio: 'ignore' });
    // A user certificate for root, signed by a user CA the sshd trusts; its key is in no authorized_keys.
    keygen(join(dir, 'user_ca'));
    keygen(join(dir, 'certuser_ed25519'));
    execFileSync('ssh-keygen', ['-q', '-s', join(dir, 'user_ca'), '-I', 'pm-test-user', '-n', 'root', '-V', '-5m:+1d', join(dir, 'certuser_ed25519.pub')], { stdio: 'ignore' });
    writeFileSync(join(dir, 'authorized_keys'), [readFileSync(join(dir, 'id_ed25519.pub')), readFileSync(join(dir, 'locked_ed25519.pub'))].join(''));
    port = await freePort();
    deadPort = await freePort();
    // Accepts TCP and never says a word, like a firewall that swallows the banner.
    silent = createServer((s) => {
      silentSockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as { port: number }).port;
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `HostCertificate ${join(dir, 'host_ed25519-cert.pub')}`,
        `TrustedUserCAKeys ${join(dir, 'user_ca.pub')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PidFile none',
        'AllowTcpForwarding yes',
        'MaxStartups 100',
        'LogLevel VERBOSE',
      ].join('\n') + '\n',
    );
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr!.on('data', (d: Buffer) => {
      sshdLog = (sshdLog + d.toString()).slice(-20_000);
    });
    await waitForPort(port);

    const hostPub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/);
    hostPubLine = `${hostPub[0]} ${hostPub[1]}`;
    hostFingerprint = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(/\s+/)[1]!;
    const impostor = readFileSync(join(dir, 'impostor_ed25519.pub'), 'utf8').trim().split(/\s+/);
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPubLine}\n`);
    const caPub = readFileSync(join(dir, 'ca_ed25519.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    writeFileSync(join(dir, 'ca_known_hosts'), `@cert-authority [127.0.0.1]:${port} ${caPub}\n`);
    writeFileSync(join(dir, 'other_ca_known_hosts'), `@cert-authority other.example.com ${caPub}\n`);
    writeFileSync(join(dir, 'revoked_ca_known_hosts'), `@cert-authority [127.0.0.1]:* ${caPub}\n@revoked * ${caPub}\n`);
    writeFileSync(join(dir, 'changed_known_hosts'), `# old key\n[127.0.0.1]:${port} ${impostor[0]} ${impostor[1]}\n`);

    const common = (opts: { user?: string; key?: string; known?: string; strict?: string; port?: number; timeout?: number }) =>
      [
        '  HostName 127.0.0.1',
        `  Port ${opts.port ?? port}`,
        `  User ${opts.user ?? 'root'}`,
        `  IdentityFile ${opts.key ?? join(dir, 'id_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${opts.known ?? join(dir, 'known_hosts')}`,
        '  GlobalKnownHostsFile /dev/null',
        `  StrictHostKeyChecking ${opts.strict ?? 'yes'}`,
        `  ConnectTimeout ${opts.timeout ?? 5}`,
      ].join('\n');
    writeFileSync(
      join(dir, 'ssh_config'),
      [
        'Host target',
        common({}),
        'Host viaproxy',
        common({}),
        '  ProxyCommand socat - TCP:%h:%p',
        'Host viajump',
        common({}),
        '  ProxyJump target',
        'Host unknownkey',
        common({ known: join(dir, 'none_known_hosts'), strict: 'ask' }),
        'Host acceptnew',
        common({ known: join(dir, 'new', 'known_hosts'), strict: 'accept-new' }),
        'Host changedkey',
        common({ known: join(dir, 'changed_known_hosts'), strict: 'accept-new' }),
        'Host wronguser',
        common({ user: 'nosuchuser' }),
        'Host wrongkey',
        common({ key: join(dir, 'other_ed25519') }),
        'Host lockedkey',
        common({ key: join(dir, 'locked_ed25519') }),
        'Host certhost',
        common({ known: join(dir, 'ca_known_hosts') }),
        'Host othercahost',
        common({ known: join(dir, 'other_ca_known_hosts') }),
        'Host revokedcahost',
        common({ known: join(dir, 'revoked_ca_known_hosts') }),
        'Host usercert',
        common({ key: join(dir, 'certuser_ed25519') }),
        `  CertificateFile ${join(dir, 'certuser_ed25519-cert.pub')}`,
        'Host slowpassphrase',
        common({ key: join(dir, 'locked_ed25519'), timeout: 1 }),
        'Host silent',
        common({ port: silentPort, timeout: 1 }),
        'Host nothinglistening',
        common({ port: deadPort }),
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await Promise.allSettled(pools.map((p) => p.close()));
    for (const s of silentSockets) s.destroy();
    silent?.close();
    if (sshd && sshd.exitCode === null) {
      const exited = new Promise((r) => sshd!.once('exit', r));
      sshd.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (sshd.exitCode === null) sshd.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('exec: stdout, stderr, exit codes, stdin, quoting', async () => {
    const host = await pool().get('target');
    assert.equal(host.isLocal, false);
    const r = await host.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
    const echo = await host.exec(['printf', '%s|', 'a b', "it's", '$HOME', '*', '']);
    assert.equal(echo.stdout, "a b|it's|$HOME|*||");
    assert.equal((await host.exec(['cat'], { stdin: 'hello\n' })).stdout, 'hello\n');
    assert.equal((await host.exec(['wc', '-c'], { stdin: Buffer.alloc(1000, 1) })).stdout.trim(), '1000');
    assert.equal((await host.exec(['true'])).code, 0);
    assert.equal((await host.exec(['sh', '-c', 'read x; echo "[$x]"'])).stdout, '[]\n', 'stdin is at EOF without input');
  });

  test('exec: many quick commands at once on one connection each report their exit status', async () => {
    // Their exec reply, output and status often arrive in one read, before the caller holds the
    // channel: the status must not be lost on the way.
    const host = await pool().get('target');
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => host.exec(['sh', '-c', `echo ${i}; exit ${90 + i}`])));
      assert.deepEqual(results.map((r) => [r.code, r.stdout]), results.map((_, i) => [90 + i, `${i}\n`]));
    }
    const killed = await host.exec(['sh', '-c', 'kill -TERM $$']);
    assert.deepEqual([killed.code, killed.signal], [null, 'SIGTERM']);
  });

  test('spawn streams a few MB both ways', async () => {
    const host = await pool().get('target');
    const payload = randomBytes(4 * 1024 * 1024);
    const cmd = host.spawn(['cat']);
    const received = readAll(cmd.stdout);
    cmd.stdin.end(payload);
    const [out, exit] = await Promise.all([received, cmd.exited]);
    assert.equal(exit.code, 0);
    assert.equal(out.length, payload.length);
    assert.equal(sha(out), sha(payload));

    const big = host.spawn(['head', '-c', '3000000', '/dev/zero']);
    big.stdin.end();
    assert.equal((await readAll(big.stdout)).length, 3_000_000);
    assert.equal((await big.exited).code, 0);
  });

  test('spawn: kill stops a remote command', async () => {
    const host = await pool().get('target');
    const cmd = host.spawn(['sleep', '30']);
    setTimeout(() => cmd.kill('SIGTERM'), 300);
    const started = Date.now();
    const exit = await cmd.exited;
    assert.ok(Date.now() - started < 10_000, sshdLog.split('\n').filter((l) => /signal|req/i.test(l)).slice(-15).join('\n'));
    assert.notEqual(exit.code, 0);
  });

  test('listen (remote forward) and connect (local forward) round trip', async () => {
    const host = await pool().get('target');
    const listener = await host.listen((socket: Duplex) => socket.pipe(socket)); // echo
    assert.ok(listener.port > 0);
    const sock = await host.connect(listener.port);
    const payload = randomBytes(512 * 1024);
    const back = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      let n = 0;
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= payload.length) resolve(Buffer.concat(chunks));
      });
    });
    sock.write(payload);
    assert.equal(sha(await back), sha(payload));
    sock.end();
    if (haveSocat) {
      // A program on the remote reaching our listener through its loopback.
      const r = await host.exec(['socat', '-', `TCP:127.0.0.1:${listener.port}`], { stdin: 'ping\n' });
      assert.equal(r.stdout, 'ping\n');
    }
    // A second listener gets its own connections (dispatch by bound port).
    const seen: string[] = [];
    const l2 = await host.listen((s) => {
      seen.push('l2');
      s.end('two');
    });
    const s2 = await host.connect(l2.port);
    assert.equal((await readAll(s2)).toString(), 'two');
    assert.deepEqual(seen, ['l2']);
    await listener.close();
    await l2.close();
    await listener.close(); // idempotent
    await rejection(host.connect(listener.port));
  });

  test('ProxyCommand (socat)', { skip: !haveSocat && 'socat is not installed' }, async () => {
    const host = await pool().get('viaproxy');
    assert.equal((await host.exec(['echo', 'proxied'])).stdout, 'proxied\n');
    await host.close();
  });

  test('ProxyJump through the same sshd to itself', async () => {
    const p = pool();
    const host = await p.get('viajump');
    assert.equal((await host.exec(['echo', 'jumped'])).stdout, 'jumped\n');
    // The jump itself shows in sshd's log as a direct-tcpip request from the first connection.
    await p.close();
  });

  test('unknown host key is refused with its fingerprint; once/always via the prompt', async () => {
    const err = await rejection(pool().get('unknownkey'));
    assert.equal(err.code, 'host-key-unknown');
    assert.ok(err.message.includes(hostFingerprint), err.message);
    assert.match(err.message, /ssh-keyscan -p \d+ 127\.0\.0\.1/);
    assert.ok(!existsSync(join(dir, 'none_known_hosts')));

    const asked: string[] = [];
    const once = pool({ onUnknownHostKey: async (k) => (asked.push(k.fingerprint), 'once') });
    assert.equal((await (await once.get('unknownkey')).exec(['echo', 'ok'])).stdout, 'ok\n');
    assert.deepEqual(asked, [hostFingerprint]);
    assert.ok(!existsSync(join(dir, 'none_known_hosts')), '`once` records nothing');

    const rejected = await rejection(pool({ onUnknownHostKey: async () => 'reject' }).get('unknownkey'));
    assert.equal(rejected.code, 'host-key-unknown');
  });

  test('accept-new records the key (0600 file, 0700 dir) and then trusts it', async () => {
    const file = join(dir, 'new', 'known_hosts');
    const host = await pool().get('acceptnew');
    assert.equal((await host.exec(['echo', 'hi'])).stdout, 'hi\n');
    const text = readFileSync(file, 'utf8');
    assert.equal(text, `[127.0.0.1]:${port} ${hostPubLine}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o700);
    await (await pool().get('acceptnew')).exec(['true']);
    assert.equal(readFileSync(file, 'utf8'), text, 'no second line once known');
  });

  test('a changed host key is refused, even with accept-new', async () => {
    const err = await rejection(pool().get('changedkey'));
    assert.equal(err.code, 'host-key-changed');
    assert.match(err.message, /CHANGED/);
    assert.match(err.message, /changed_known_hosts line 2/);
    assert.match(err.message, /ssh-keygen -f \S+ -R '\[127\.0\.0\.1\]:\d+'/);
  });

  test('@cert-authority: a host key certified by a trusted CA is accepted, checked by OpenSSH, recorded nowhere', async () => {
    const seen = logs.length;
    const before = readFileSync(join(dir, 'ca_known_hosts'), 'utf8');
    const host = await pool().get('certhost');
    assert.equal((await host.exec(['echo', 'certified'])).stdout, 'certified\n');
    const line = logs.slice(seen).find((l) => l.includes('is certified by the @cert-authority'));
    assert.ok(line, logs.slice(seen).join('\n'));
    assert.ok(line.includes(hostFingerprint) && line.includes('ID "pm-test-host"'), line);
    assert.equal(readFileSync(join(dir, 'ca_known_hosts'), 'utf8'), before);
  });

  test('@cert-authority for another host, or a revoked CA: refused, saying why', async () => {
    const other = await rejection(pool().get('othercahost'));
    assert.equal(other.code, 'host-key-unknown');
    assert.match(other.message, new RegExp(`^The host key of othercahost \\(127\\.0\\.0\\.1:${port}\\) is not in \\S+other_ca_known_hosts: ssh-ed25519 ${hostFingerprint.replace(/[+/]/g, '\\$&')}; after checking`));
    const revoked = await rejection(pool().get('revokedcahost'));
    assert.equal(revoked.code, 'host-key-unknown');
    assert.match(revoked.message, /\(the @cert-authority line in \S+revoked_ca_known_hosts line 1 does not vouch for it: ssh says: [^)]*revoked[^)]*\)/i);
  });

  test('a user certificate: OpenSSH logs in with it; ssh2 cannot, and the sentence names the workaround', async () => {
    const ssh = execFileSync('ssh', ['-F', join(dir, 'ssh_config'), '-o', 'BatchMode=yes', 'usercert', 'echo', 'cert-ok'], { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: '' } });
    assert.equal(ssh, 'cert-ok\n', 'the certificate itself is valid');
    const err = await rejection(pool().get('usercert'));
    assert.equal(err.code, 'auth-failed');
    const cert = join(dir, 'certuser_ed25519-cert.pub');
    const pub = join(dir, 'certuser_ed25519.pub');
    assert.equal(
      err.message,
      `Authentication as root on usercert (127.0.0.1:${port}) failed: tried ${join(dir, 'certuser_ed25519')}; ${cert} is an OpenSSH user certificate, which procmig's SSH library (ssh2) cannot log in with, so add the plain public key ${pub} to root's ~/.ssh/authorized_keys on usercert instead (ssh-copy-id -i ${pub} usercert).`,
    );
    assert.match(sshdLog, /Accepted certificate ID "pm-test-user"/, 'sshd saw the certificate; the signature is what it refuses');
  });

  test('wrong user or wrong key: the auth-failed sentence', async () => {
    for (const name of ['wronguser', 'wrongkey']) {
      const err = await rejection(pool().get(name));
      assert.equal(err.code, 'auth-failed', err.message);
      assert.match(err.message, /tried .*_ed25519/);
      assert.match(err.message, /authorized_keys/);
    }
  });

  test('an encrypted IdentityFile is unlocked through askPassphrase; left locked, auth fails naming it', async () => {
    const tried: boolean[] = [];
    const host = await pool({
      askPassphrase: async ({ keyFile, unlocks }) => {
        assert.equal(keyFile, join(dir, 'locked_ed25519'));
        tried.push(unlocks('wrong'), unlocks('open sesame'));
        return 'open sesame';
      },
    }).get('lockedkey');
    assert.equal((await host.exec(['echo', 'unlocked'])).stdout, 'unlocked\n');
    assert.deepEqual(tried, [false, true]);
    assert.ok(!logs.some((l) => l.includes('open sesame')), 'the passphrase is never logged');

    for (const extra of [{}, { askPassphrase: async () => undefined }, { askPassphrase: async () => 'wrong' }]) {
      const err = await rejection(pool(extra).get('lockedkey'));
      assert.equal(err.code, 'auth-failed', err.message);
      assert.match(err.message, /: \S+locked_ed25519 is passphrase-protected and stayed locked; type its passphrase when asked, or load it into ssh-agent with ssh-add\.$/);
    }
  });

  test('an encrypted IdentityFile held by ssh-agent is used from the agent, without asking', async () => {
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      // ssh-add reads the passphrase from SSH_ASKPASS when told to, as a desktop session does.
      writeFileSync(join(dir, 'askpass'), "#!/bin/sh\necho 'open sesame'\n", { mode: 0o700 });
      execFileSync('ssh-add', [join(dir, 'locked_ed25519')], {
        env: { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS: join(dir, 'askpass'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
        stdio: 'ignore',
      });
      process.env.SSH_AUTH_SOCK = sock;
      const seen = logs.length;
      const host = await pool({ askPassphrase: async () => assert.fail('asked for a passphrase the agent holds') }).get('lockedkey');
      assert.equal((await host.exec(['echo', 'via agent'])).stdout, 'via agent\n');
      const lines = logs.slice(seen);
      assert.ok(lines.includes('ssh lockedkey: trying ssh-agent keys') && !lines.some((l) => l.includes('trying key')), lines.join('\n'));
    } finally {
      delete process.env.SSH_AUTH_SOCK;
      agent.kill('SIGTERM');
    }
  });

  test('ConnectTimeout bounds the wait for the server, not for a person typing a passphrase', async () => {
    const err = await rejection(pool().get('silent'));
    assert.equal(err.code, 'unreachable');
    assert.match(err.message, /^Cannot reach silent \(127\.0\.0\.1:\d+\): no SSH answer within 1 s\./);
    const host = await pool({
      askPassphrase: async () => {
        await new Promise((r) => setTimeout(r, 2500)); // longer than ConnectTimeout 1
        return 'open sesame';
      },
    }).get('slowpassphrase');
    assert.equal((await host.exec(['echo', 'patient'])).stdout, 'patient\n');
  });

  test('nothing listening: the unreachable sentence', async () => {
    const err = await rejection(pool().get('nothinglistening'));
    assert.equal(err.code, 'unreachable');
    assert.match(err.message, /^Cannot reach nothinglistening \(127\.0\.0\.1:\d+\): connection refused\. Check that sshd runs there/);
  });

  test('unknown names: a sentence, not a stack', async () => {
    const err = await rejection(pool().get('no-such-host.invalid'));
    assert.equal(err.code, 'unknown-host');
    assert.match(err.message, /not a Host in \S+\/ssh_config and does not resolve/, 'names the config file it read');
  });

  test('user@host:port names work without a config entry', async () => {
    // Trust and identity still come from the config's defaults, so give them through a `Host *`-less
    // alias-free name pointing at the known_hosts we wrote.
    const cfg = join(dir, 'ssh_config_star');
    writeFileSync(
      cfg,
      `Host *\n  IdentityFile ${join(dir, 'id_ed25519')}\n  UserKnownHostsFile ${join(dir, 'known_hosts')}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n`,
    );
    const p = new HostPool({ sshConfigFile: cfg });
    pools.push(p);
    const host = await p.get(`root@127.0.0.1:${port}`);
    assert.equal((await host.exec(['id', '-un'])).stdout, 'root\n');
  });

  test('reuse: one connection per name; reconnect after the server drops it', async () => {
    const p = pool();
    const [a, b] = await Promise.all([p.get('target'), p.get('target')]);
    assert.equal(a, b, 'concurrent gets share one connect');
    assert.equal(await p.get('target'), a, 'live connection reused');
    const before = (await a.exec(['sh', '-c', 'echo $PPID'])).stdout.trim();

    // A running command sees the drop as code null + connectionLost.
    const running = a.spawn(['sleep', '30']);
    running.stdin.end();
    await new Promise((r) => setTimeout(r, 200));
    const killed = await a.exec(['sh', '-c', 'kill -9 $PPID; sleep 5']);
    assert.equal(killed.code, null);
    assert.equal(killed.connectionLost, true);
    const exit = await running.exited;
    assert.equal(exit.code, null);
    assert.equal(exit.connectionLost, true);

    const again = await p.get('target');
    assert.equal(again, a, 'same Host object, reconnected');
    const after = (await again.exec(['sh', '-c', 'echo $PPID'])).stdout.trim();
    assert.notEqual(after, before, 'a new server session');
    // The Host also reconnects on its own when called directly.
    await again.exec(['sh', '-c', 'kill -9 $PPID; sleep 5']);
    assert.equal((await a.exec(['echo', 'back'])).stdout, 'back\n');
  });

  test('local host', async () => {
    const host: Host = await pool().get('local');
    assert.equal(host.isLocal, true);
    const r = await host.exec(['sh', '-c', 'cat; echo e >&2; exit 4'], { stdin: 'in' });
    assert.deepEqual([r.code, r.stdout, r.stderr], [4, 'in', 'e\n']);
    const l = await host.listen((s) => s.end('hello'));
    assert.equal((await readAll(await host.connect(l.port))).toString(), 'hello');
    await l.close();
    await rejection(host.exec(['/nonexistent/binary']));
  });
});
