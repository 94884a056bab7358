import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  askOncePerSession,
  checkHostKey,
  entryMatchesHost,
  fingerprintSha256,
  hashHostName,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
  verifyHostKey,
  type HostKeyPolicy,
} from '../../src/transport/knownHosts';
import { TransportError } from '../../src/transport/host';

/** A real ssh-ed25519 public key blob. */
function ed25519Blob(): Buffer {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}
const line = (hosts: string, key: Buffer) => `${hosts} ${keyTypeOf(key)} ${key.toString('base64')}`;

const A = ed25519Blob();
const B = ed25519Blob();

test('key type and OpenSSH fingerprint format', () => {
  assert.equal(keyTypeOf(A), 'ssh-ed25519');
  const fp = fingerprintSha256(A);
  assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.equal(fp, 'SHA256:' + createHash('sha256').update(A).digest('base64').replace(/=+$/, ''));
});

test('parse: comments, markers, malformed lines skipped, line numbers kept', () => {
  const text = ['# comment', '', line('host1,host2', A), 'garbage', `@revoked ${line('*', B)}`, `@cert-authority ${line('*.example.com', B)}`, `@bogus ${line('x', A)}`].join('\n');
  const entries = parseKnownHosts(text, 'kh');
  assert.deepEqual(
    entries.map((e) => [e.line, e.marker, e.hosts]),
    [
      [3, undefined, 'host1,host2'],
      [5, 'revoked', '*'],
      [6, 'cert-authority', '*.example.com'],
    ],
  );
});

test('host patterns: lists, wildcards, negation, ports, case', () => {
  assert.equal(knownHostsName('h', 22), 'h');
  assert.equal(knownHostsName('h', 2222), '[h]:2222');
  assert.ok(entryMatchesHost('a,b,c', 'b'));
  assert.ok(entryMatchesHost('*.example.com', 'WWW.example.com'));
  assert.ok(entryMatchesHost('web?', 'web1'));
  assert.ok(!entryMatchesHost('web?', 'web12'));
  assert.ok(!entryMatchesHost('*.example.com,!bad.example.com', 'bad.example.com'));
  assert.ok(entryMatchesHost('*.example.com,!bad.example.com', 'ok.example.com'));
  assert.ok(entryMatchesHost('[h]:2222', '[h]:2222'));
  assert.ok(!entryMatchesHost('h', '[h]:2222'), 'a port-22 entry does not cover other ports');
  assert.ok(!entryMatchesHost('[h]:2222', 'h'));
});

test('hashed entries (HMAC-SHA1), as `ssh-keygen -H` writes them', () => {
  const salt = Buffer.from('0123456789abcdefghij');
  const hashed = hashHostName('[10.0.0.5]:2222', salt);
  assert.match(hashed, /^\|1\|[^|]+\|[^|]+$/);
  assert.ok(entryMatchesHost(hashed, '[10.0.0.5]:2222'));
  assert.ok(!entryMatchesHost(hashed, '10.0.0.5'));
  // A known vector computed independently of hashHostName.
  const expected = createHmac('sha1', salt).update('example.org').digest('base64');
  assert.ok(entryMatchesHost(`|1|${salt.toString('base64')}|${expected}`, 'example.org'));
});

test('check: known, changed, unknown, revoked, other key types', () => {
  const entries = parseKnownHosts([line('h', A), line('[h]:2222', B)].join('\n'), 'kh');
  assert.equal(checkHostKey(entries, 'h', A).status, 'known');
  const changed = checkHostKey(entries, 'h', B);
  assert.equal(changed.status, 'changed');
  assert.equal(changed.status === 'changed' && changed.entry.line, 1);
  assert.equal(checkHostKey(entries, 'other', A).status, 'unknown');
  assert.equal(checkHostKey(entries, '[h]:2222', B).status, 'known');
  const revoked = parseKnownHosts([`@revoked ${line('*', A)}`, line('h', A)].join('\n'), 'kh');
  assert.equal(checkHostKey(revoked, 'h', A).status, 'revoked');
  const ca = parseKnownHosts(`@cert-authority ${line('h', B)}`, 'kh');
  const viaCa = checkHostKey(ca, 'h', A);
  assert.equal(viaCa.status, 'unknown', 'CA lines are not host keys');
  assert.equal(viaCa.status === 'unknown' && viaCa.authority?.line, 1, 'but the CA for the host is named, for a certificate check');
  const otherCa = checkHostKey(ca, 'other', A);
  assert.equal(otherCa.status === 'unknown' && otherCa.authority, undefined, 'a CA for another pattern does not apply');
});

function withDir(fn: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-kh-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const policy = (dir: string, extra: Partial<HostKeyPolicy> = {}): HostKeyPolicy => ({
  displayName: 'box',
  host: '10.1.2.3',
  port: 2222,
  userKnownHostsFiles: [join(dir, 'ssh', 'known_hosts')],
  globalKnownHostsFiles: [join(dir, 'global')],
  strict: 'ask',
  hashKnownHosts: false,
  ...extra,
});

async function refusal(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TransportError);
    return err;
  }
  assert.fail('expected a refusal');
}

test('accept-new writes a line, 0600 in a 0700 dir, then knows the key', withDir(async (dir) => {
  await verifyHostKey(policy(dir, { strict: 'accept-new' }), A);
  const file = join(dir, 'ssh', 'known_hosts');
  assert.equal(readFileSync(file, 'utf8'), `${line('[10.1.2.3]:2222', A)}\n`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'ssh')).mode & 0o777, 0o700);
  await verifyHostKey(policy(dir, { strict: 'yes' }), A);
  const err = await refusal(verifyHostKey(policy(dir, { strict: 'accept-new' }), B));
  assert.equal(err.code, 'host-key-changed', 'accept-new never accepts a changed key');
  assert.match(err.message, /known_hosts line 1/);
  assert.match(err.message, /ssh-keygen -f \S+ -R '\[10\.1\.2\.3\]:2222'/);
}));

test('HashKnownHosts writes hashed names that still match', withDir(async (dir) => {
  await verifyHostKey(policy(dir, { strict: 'accept-new', hashKnownHosts: true }), A);
  const text = readFileSync(join(dir, 'ssh', 'known_hosts'), 'utf8');
  assert.match(text, /^\|1\|/);
  assert.ok(!text.includes('10.1.2.3'));
  await verifyHostKey(policy(dir, { strict: 'yes' }), A);
}));

test('unknown key: yes and ask-without-prompt refuse with the fingerprint', withDir(async (dir) => {
  for (const strict of ['yes', 'ask'] as const) {
    const err = await refusal(verifyHostKey(policy(dir, { strict }), A));
    assert.equal(err.code, 'host-key-unknown');
    assert.ok(err.message.includes(fingerprintSha256(A)));
    assert.match(err.message, /ssh-keyscan -p 2222 10\.1\.2\.3/);
  }
}));

test('ask: once, always, reject', withDir(async (dir) => {
  const file = join(dir, 'ssh', 'known_hosts');
  const seen: string[] = [];
  await verifyHostKey(policy(dir, { onUnknownHostKey: async (k) => (seen.push(`${k.host}:${k.port} ${k.keyType}`), 'once') }), A);
  assert.deepEqual(seen, ['10.1.2.3:2222 ssh-ed25519']);
  assert.throws(() => statSync(file));
  assert.equal((await refusal(verifyHostKey(policy(dir, { onUnknownHostKey: async () => 'reject' }), A))).code, 'host-key-unknown');
  await verifyHostKey(policy(dir, { onUnknownHostKey: async () => 'always' }), A);
  await verifyHostKey(policy(dir, { strict: 'yes' }), A);
}));

test('global file and HostKeyAlias are honoured', withDir(async (dir) => {
  writeFileSync(join(dir, 'global'), `${line('myalias', A)}\n`);
  await verifyHostKey(policy(dir, { strict: 'yes', hostKeyAlias: 'myalias' }), A);
  await refusal(verifyHostKey(policy(dir, { strict: 'yes' }), A));
  const revoked = await refusal((writeFileSync(join(dir, 'global'), `@revoked ${line('*', A)}\n`), verifyHostKey(policy(dir, { strict: 'accept-new' }), A)));
  assert.match(revoked.message, /@revoked/);
}));

test('a new line keeps the file\'s style: hashed next to hashed names, plain next to plain', withDir(async (dir) => {
  const file = join(dir, 'ssh', 'known_hosts');
  mkdirSync(join(dir, 'ssh'), { mode: 0o700 });
  writeFileSync(file, `${line(hashHostName('other'), B)}\n`, { mode: 0o600 });
  await verifyHostKey(policy(dir, { onUnknownHostKey: async () => 'always' }), A);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^\|1\|/);
  assert.ok(!lines[1]!.includes('10.1.2.3'));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await verifyHostKey(policy(dir, { strict: 'yes' }), A);

  writeFileSync(file, `${line('plain', B)}\n`);
  await verifyHostKey(policy(dir, { onUnknownHostKey: async () => 'always' }), A);
  assert.equal(readFileSync(file, 'utf8').trimEnd().split('\n')[1], line('[10.1.2.3]:2222', A));
}));

test('a changed key is refused with the OpenSSH warning, without asking', withDir(async (dir) => {
  mkdirSync(join(dir, 'ssh'));
  writeFileSync(join(dir, 'ssh', 'known_hosts'), `${line('[10.1.2.3]:2222', B)}\n`);
  let asked = 0;
  const err = await refusal(verifyHostKey(policy(dir, { onUnknownHostKey: async () => (asked++, 'always') }), A));
  assert.equal(err.code, 'host-key-changed');
  assert.equal(asked, 0);
  assert.match(err.message, /^WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for box \(10\.1\.2\.3:2222\)/);
  assert.ok(err.message.includes(fingerprintSha256(A)));
}));

test('once per session: a key trusted once is not asked again; racing connections share one question', withDir(async (dir) => {
  const file = join(dir, 'ssh', 'known_hosts');
  let asked = 0;
  let answer!: (d: 'once' | 'always' | 'reject') => void;
  const ask = askOncePerSession(() => (asked++, new Promise((r) => (answer = r))));
  const racing = [1, 2, 3].map(() => verifyHostKey(policy(dir, { onUnknownHostKey: ask }), A));
  await new Promise((r) => setImmediate(r));
  answer('always');
  await Promise.all(racing);
  assert.equal(asked, 1);
  assert.equal(readFileSync(file, 'utf8').trimEnd().split('\n').length, 1, 'recorded once');

  const other = askOncePerSession(async () => (asked++, 'once'));
  await verifyHostKey(policy(dir, { userKnownHostsFiles: [join(dir, 'none')], onUnknownHostKey: other }), B);
  await verifyHostKey(policy(dir, { userKnownHostsFiles: [join(dir, 'none')], onUnknownHostKey: other }), B);
  assert.equal(asked, 2);
  const rejecting = askOncePerSession(async () => (asked++, 'reject'));
  const cancelled = await refusal(verifyHostKey(policy(dir, { userKnownHostsFiles: [join(dir, 'none')], onUnknownHostKey: rejecting }), B));
  assert.match(cancelled.message, /^Not connected to box \(10\.1\.2\.3:2222\): its ssh-ed25519 host key SHA256:\S+ was not trusted\.$/);
  await refusal(verifyHostKey(policy(dir, { userKnownHostsFiles: [join(dir, 'none')], onUnknownHostKey: rejecting }), B));
  assert.equal(asked, 4, 'a cancel is asked again next time');
}));

test('@cert-authority: a key certified for the host is accepted, unrecorded; otherwise the plain-key rules apply', withDir(async (dir) => {
  mkdirSync(join(dir, 'ssh'), { recursive: true });
  writeFileSync(join(dir, 'global'), `@cert-authority [10.1.2.*]:2222 ${keyTypeOf(B)} ${B.toString('base64')}\n`);
  const asked: Buffer[] = [];
  const certified = (ok: boolean) => async (key: Buffer) => (asked.push(key), ok ? { ok: true as const, certificate: 'ID "box"' } : { ok: false as const, reason: 'ssh says: Certificate invalid: name is not a listed principal' });
  await verifyHostKey(policy(dir, { strict: 'yes', checkCertificate: certified(true) }), A);
  assert.deepEqual(asked, [A], 'the key ssh2 was shown is the one checked');
  assert.ok(!existsSync(join(dir, 'ssh', 'known_hosts')), 'a certified key is not recorded');
  const err = await refusal(verifyHostKey(policy(dir, { strict: 'yes', checkCertificate: certified(false) }), A));
  assert.equal(err.code, 'host-key-unknown');
  assert.match(err.message, /\(the @cert-authority line in \S+global line 1 does not vouch for it: ssh says: Certificate invalid: name is not a listed principal\); after checking/);
  const noChecker = await refusal(verifyHostKey(policy(dir, { strict: 'yes' }), A));
  assert.match(noChecker.message, /does not vouch for it: nothing checks host certificates here/);
  asked.length = 0;
  await refusal(verifyHostKey(policy(dir, { strict: 'yes', host: '10.9.9.9', checkCertificate: certified(true) }), A));
  assert.deepEqual(asked, [], 'no CA line for the host: no certificate check');
}));
