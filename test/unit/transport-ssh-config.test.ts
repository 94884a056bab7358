import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkResolvable, listConfiguredHosts, parseDestination, resolveHost, type ResolveOptions } from '../../src/transport/sshConfig';
import { commandLine, shellQuote } from '../../src/transport/sshHost';
import { TransportError } from '../../src/transport/host';

const home = mkdtempSync(join(tmpdir(), 'pm-sshcfg-'));
test.after(() => rmSync(home, { recursive: true, force: true }));
mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
const config = join(home, '.ssh', 'config');
writeFileSync(
  config,
  `
Include conf.d/*.conf
Host box
  HostName 10.0.0.7
  User deploy
  Port 2200
  IdentityFile ~/.ssh/box_%r_%h
  IdentityFile %d/.ssh/second_%u
  IdentitiesOnly yes
  ServerAliveInterval 30
  ConnectTimeout 4
  StrictHostKeyChecking accept-new
  HostKeyAlias boxkey
  UserKnownHostsFile ~/.ssh/kh1 ~/.ssh/kh2

Host behind
  HostName 192.168.1.20
  ProxyJump box,other:2022

Host proxied
  HostName inner.lan
  User admin
  ProxyCommand socat - TCP:%h:%p,user=%r

Host ns-*
  ProxyCommand ip netns exec pm-%n socat - TCP:%h:%p # %k
Host badname
  HostName %n.example.org

Host lax
  StrictHostKeyChecking no
Host strict
  StrictHostKeyChecking yes
Host web-* !web-bad
  User www
Host *
  User fallback
  HashKnownHosts yes
`,
);
writeFileSync(join(home, '.ssh', 'conf.d', 'extra.conf'), 'Host included\n  HostName 10.9.9.9\n  Port 2299\n');
const opts = { sshConfigFile: config, home, localUser: 'me' };
/** The hand-written reader (the fallback without OpenSSH), with a fake home and local user. */
const resolveSshHost = (name: string, o: ResolveOptions = opts) => resolveHost(name, { ...o, ssh: false });

test('alias: HostName, User, Port, tokens in IdentityFile, timeouts, known_hosts files', async () => {
  const r = await resolveSshHost('box', opts);
  assert.equal(r.hostName, '10.0.0.7');
  assert.equal(r.user, 'deploy');
  assert.equal(r.port, 2200);
  assert.deepEqual(r.identityFiles, [join(home, '.ssh/box_deploy_10.0.0.7'), join(home, '.ssh/second_me')]);
  assert.equal(r.identitiesOnly, true);
  assert.equal(r.serverAliveIntervalMs, 30_000);
  assert.equal(r.connectTimeoutMs, 4000);
  assert.equal(r.strictHostKeyChecking, 'accept-new');
  assert.equal(r.hostKeyAlias, 'boxkey');
  assert.deepEqual(r.userKnownHostsFiles, [join(home, '.ssh/kh1'), join(home, '.ssh/kh2')]);
  assert.equal(r.hashKnownHosts, true);
});

test('defaults: identity files, known_hosts, timeouts, ask', async () => {
  const r = await resolveSshHost('plain.example.com', opts);
  assert.equal(r.hostName, 'plain.example.com');
  assert.equal(r.port, 22);
  assert.equal(r.user, 'fallback');
  assert.deepEqual(r.identityFiles, ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'].map((f) => join(home, '.ssh', f)));
  assert.deepEqual(r.userKnownHostsFiles, [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')]);
  assert.deepEqual(r.globalKnownHostsFiles, ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
  assert.equal(r.strictHostKeyChecking, 'ask');
  assert.equal(r.connectTimeoutMs, 10_000);
  assert.equal(r.serverAliveIntervalMs, 15_000);
  assert.deepEqual(r.proxyJump, []);
});

test('StrictHostKeyChecking no is treated as accept-new, never as off', async () => {
  assert.equal((await resolveSshHost('lax', opts)).strictHostKeyChecking, 'accept-new');
  assert.equal((await resolveSshHost('strict', opts)).strictHostKeyChecking, 'yes');
});

test('user@host:port overrides the config', async () => {
  const r = await resolveSshHost('root@box:2022', opts);
  assert.deepEqual([r.user, r.hostName, r.port, r.alias], ['root', '10.0.0.7', 2022, 'box']);
  assert.deepEqual(parseDestination('u@[fe80::1]:2222'), { user: 'u', host: 'fe80::1', port: 2222 });
  assert.deepEqual(parseDestination('ssh://u@h:23'), { user: 'u', host: 'h', port: 23 });
  assert.deepEqual(parseDestination('alias'), { user: undefined, host: 'alias', port: undefined });
});

test('ProxyJump hops and ProxyCommand tokens', async () => {
  assert.deepEqual((await resolveSshHost('behind', opts)).proxyJump, ['box', 'other:2022']);
  const p = await resolveSshHost('proxied', opts);
  assert.equal(p.proxyCommand, 'socat - TCP:inner.lan:22,user=admin');
});

test('ProxyCommand: %n is the name as typed, %k the host key alias or that name', async () => {
  assert.equal((await resolveSshHost('ns-lab-a')).proxyCommand, 'ip netns exec pm-ns-lab-a socat - TCP:ns-lab-a:22 # ns-lab-a');
  assert.equal((await resolveSshHost('root@ns-b:2022')).proxyCommand, 'ip netns exec pm-ns-b socat - TCP:ns-b:2022 # ns-b');
});

test('a token where ssh_config does not allow it is refused, as ssh refuses it', async () => {
  const err = await resolveSshHost('badname').catch((e: unknown) => e);
  assert.ok(err instanceof TransportError);
  assert.equal(err.message, 'The ssh config uses %n in HostName (%n.example.org), which ssh_config(5) does not allow there.');
});

test('Include (relative to ~/.ssh, globbed)', async () => {
  const r = await resolveSshHost('included', opts);
  assert.deepEqual([r.hostName, r.port], ['10.9.9.9', 2299]);
});

test('a missing --ssh-config file is named, by both resolvers; listing it finds nothing', async () => {
  const missing = join(home, 'nope');
  for (const ssh of [false, undefined] as const) {
    const err = await resolveHost('u@h', { ...opts, sshConfigFile: missing, ssh }).catch((e: unknown) => e);
    assert.ok(err instanceof TransportError);
    assert.equal(err.code, 'config');
    assert.equal(err.message, `The ssh config ${missing} does not exist; check the path, or leave it out to use ~/.ssh/config.`);
  }
  assert.deepEqual(listConfiguredHosts(missing, home), []);
});

test('listConfiguredHosts: concrete aliases only, includes followed', async () => {
  assert.deepEqual(listConfiguredHosts(config, home), ['included', 'box', 'behind', 'proxied', 'badname', 'lax', 'strict']);
});

test('an unknown name that does not resolve is a sentence', async () => {
  const err = await checkResolvable(await resolveSshHost('no-such-host.invalid', opts)).catch((e: unknown) => e);
  assert.ok(err instanceof TransportError);
  assert.equal(err.code, 'unknown-host');
  assert.match(err.message, /^Unknown host no-such-host\.invalid: /);
  await checkResolvable(await resolveSshHost('box', opts)); // an IP: no lookup
  await checkResolvable(await resolveSshHost('proxied', opts)); // left to the proxy
});

test('remote command lines are quoted for a POSIX shell', async () => {
  assert.equal(shellQuote('plain-arg_1.txt'), 'plain-arg_1.txt');
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's $x"), `'it'\\''s $x'`);
  assert.equal(commandLine(['criu', 'dump', '-t', '42', '--images-dir', '/tmp/a b']), "criu dump -t 42 --images-dir '/tmp/a b'");
  assert.throws(() => commandLine([]));
});
