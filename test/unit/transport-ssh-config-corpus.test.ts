// The hand-written resolver (the fallback where OpenSSH is absent) against `ssh -G` itself, on a
// corpus of real-looking configs (test/unit/fixtures/ssh-configs): every field the product uses
// must come out the same. Each file names the hosts to resolve in its first line (`# resolve:`);
// `@DIR@` in the files is the temp copy's directory, so Include and known_hosts paths are real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { resolveHost, type ResolvedHost } from '../../src/transport/sshConfig';

const haveSsh = (() => {
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const fixtures = join(import.meta.dirname, 'fixtures', 'ssh-configs');
const dir = mkdtempSync(join(tmpdir(), 'pm-sshcfg-corpus-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
cpSync(fixtures, dir, { recursive: true });
for (const file of [...readdirSync(dir).map((f) => join(dir, f)), ...readdirSync(join(dir, 'conf.d')).map((f) => join(dir, 'conf.d', f))]) {
  if (!file.endsWith('.conf') && !file.endsWith('.extra')) continue;
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('@DIR@', dir));
}
writeFileSync(join(dir, 'on-vpn'), ''); // 05-match-exec: "office" is on the VPN

/** ssh's built-in default identities differ by version (id_dsa, id_xmss, …); ssh2 uses these. */
const USABLE_DEFAULTS = /\/\.ssh\/id_(rsa|ecdsa|ecdsa_sk|ed25519|ed25519_sk)$/;

function fieldsTheProductUses(r: ResolvedHost) {
  return {
    hostName: r.hostName,
    port: r.port,
    user: r.user,
    identityFiles: r.identityFiles.filter((f) => !/\/\.ssh\/id_\w+$/.test(f) || USABLE_DEFAULTS.test(f)),
    certificateFiles: r.certificateFiles,
    identitiesOnly: r.identitiesOnly,
    proxyCommand: r.proxyCommand,
    proxyJump: r.proxyJump,
    userKnownHostsFiles: r.userKnownHostsFiles,
    globalKnownHostsFiles: r.globalKnownHostsFiles,
    strictHostKeyChecking: r.strictHostKeyChecking,
    hashKnownHosts: r.hashKnownHosts,
    hostKeyAlias: r.hostKeyAlias,
    connectTimeoutMs: r.connectTimeoutMs,
    serverAliveIntervalMs: r.serverAliveIntervalMs,
  };
}

const corpus = readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();

test('the corpus has a dozen configs, each naming hosts to resolve', () => {
  assert.ok(corpus.length >= 12, corpus.join(' '));
  for (const f of corpus) assert.match(readFileSync(join(dir, f), 'utf8'), /^# resolve: \S/, f);
});

for (const file of corpus) {
  const names = /^# resolve: (.*)$/m.exec(readFileSync(join(dir, file), 'utf8'))![1]!.trim().split(/\s+/);
  test(`${basename(file)}: the fallback resolves like ssh -G (${names.join(', ')})`, { skip: !haveSsh && 'OpenSSH ssh is not installed' }, async () => {
    for (const name of names) {
      const sshConfigFile = join(dir, file);
      const bySsh = await resolveHost(name, { sshConfigFile });
      const byHand = await resolveHost(name, { sshConfigFile, ssh: false });
      assert.equal(bySsh.resolvedBy, 'ssh -G');
      assert.equal(byHand.resolvedBy, 'fallback');
      assert.deepEqual(fieldsTheProductUses(byHand), fieldsTheProductUses(bySsh), `${file}: ${name}`);
    }
  });
}

test('tokens the product expands itself, with the values ssh uses', { skip: !haveSsh && 'OpenSSH ssh is not installed' }, async () => {
  const cfg = (f: string) => ({ sshConfigFile: join(dir, f) });
  const lab = await resolveHost('lab-x', cfg('07-proxycommand.conf'));
  assert.equal(lab.proxyCommand, 'ip netns exec pm-lab-x socat - TCP:lab-x.lab.example:22 # via lab-x');
  const y = await resolveHost('u@lab-y:2200', cfg('07-proxycommand.conf'));
  assert.equal(y.proxyCommand, 'ip netns exec pm-lab-y socat - TCP:lab-y.lab.example:2200 # via lab-y', 'the first ProxyCommand wins');
  const files = await resolveHost('alice@files:2022', cfg('08-file-tokens.conf'));
  const home = process.env.HOME!;
  assert.equal(files.identityFiles[0], join(home, '.ssh/files_files.example.org_2022_alice'));
  assert.equal(files.identityFiles[2], join(home, '.ssh/env_key'));
  assert.deepEqual(files.certificateFiles, [join(home, '.ssh/alice-cert.pub')]);
  assert.equal(files.userKnownHostsFiles[0], join(home, '.ssh/known_files_files.example.org_2022_alice'));
  assert.match(files.userKnownHostsFiles[1]!, /\/kh_\w+_\d+_[^/]+_%$/);
});
