import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
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
  assert.equal(checkHostKey(ca, 'h', A).status, 'unknown', 'CA lines are not host keys');
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
