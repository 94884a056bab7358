// parseCapabilities over real `procmig-helper.sh caps` output, and versionAtLeast.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCapabilities, versionAtLeast } from '../../src/helper/capabilities';
import { fixture } from './fixtures';

describe('parseCapabilities', () => {
  it('reads a root host with CRIU 4.2.1', () => {
    const { cpu, ...c } = parseCapabilities('lab-a', fixture('caps.txt'));
    assert.equal(cpu?.flags.length, 99);
    assert.ok(cpu?.flags.includes('avx2') && cpu.flags.includes('sha_ni'));
    assert.equal(cpu?.xsaveSize, 2440, "from CRIU's cpuinfo.img");
    assert.deepEqual(c, {
      host: 'lab-a',
      helperVersion: '1',
      hostname: 'vm',
      criuVersion: '4.2.1',
      criuCheck: 'ok',
      kernel: '6.18.44-fc-v657',
      arch: 'x86_64',
      cpus: 2,
      load1: 1.38,
      memAvailableKiB: 22744112,
      diskAvailableKiB: 81726908,
      imagesDir: '/var/tmp/process-migrator',
      privilege: 'root',
      features: { mem_dirty_track: false, uffd: true, 'uffd-noncoop': true },
      pipeMaxSize: 4194304,
      tmux: '3.3a',
      inheritFdsMax: 960,
    });
  });

  it('reads a host without CRIU: no version, no features, no check', () => {
    const c = parseCapabilities('b', fixture('caps-no-criu.txt'));
    assert.equal(c.criuVersion, undefined);
    assert.equal(c.criuCheck, undefined);
    assert.deepEqual(c.features, {});
    assert.equal(c.privilege, 'root');
    assert.equal(c.hostname, 'vm');
  });

  it('knows no CPU features from a helper that printed none', () => {
    assert.equal(parseCapabilities('far', 'cpus=2\n').cpu, undefined);
    // Without CRIU (or its privileges) the flags alone are compared.
    const c = parseCapabilities('b', fixture('caps-no-criu.txt') + 'cpu_flags=fpu sse sse2 avx\n');
    assert.deepEqual(c.cpu, { flags: ['fpu', 'sse', 'sse2', 'avx'] });
  });

  it('reads a normal user with no way to run CRIU: CRIU present, never run', () => {
    const c = parseCapabilities('b', fixture('caps-no-privilege.txt'));
    assert.equal(c.privilege, 'none');
    assert.equal(c.user, 'pmdev');
    assert.equal(c.criuVersion, '4.2.1');
    assert.equal(c.criuCheck, undefined);
    assert.deepEqual(c.features, {});
    assert.equal(c.imagesDir, '/var/tmp/process-migrator-1001');
  });

  it("reads CRIU's unprivileged mode: the user's own images directory and criu", () => {
    const c = parseCapabilities('b', fixture('caps-unprivileged-mode.txt'));
    assert.equal(c.privilege, 'unprivileged');
    assert.equal(c.criuCheck, 'ok');
    assert.equal(c.features.uffd, false);
    assert.equal(c.imagesDir, '/var/tmp/process-migrator-1001');
    assert.equal(c.sudoRlimits, undefined);
    assert.equal(parseCapabilities('b', 'privilege=sudo\nsudo_rlimits=0\n').sudoRlimits, false);
  });

  it('keeps a failing `criu check` line, `=` signs included', () => {
    const c = parseCapabilities('b', 'criu_version=4.2.1\ncriu_check=Error (criu/cr-check.c:1234): opt=1 failed\n');
    assert.equal(c.criuCheck, 'Error (criu/cr-check.c:1234): opt=1 failed');
  });

  it('reads what hands CRIU its page connection: perl, python3, or nothing', () => {
    assert.equal(parseCapabilities('b', 'page_socket=perl\n').pageSocketTool, 'perl');
    assert.equal(parseCapabilities('b', 'page_socket=\n').pageSocketTool, '');
  });

  it('reads whether CRIU keeps its kernel probe between runs (/run a tmpfs), asked only where CRIU runs as root', () => {
    assert.equal(parseCapabilities('b', 'criu_probe_kept=1\n').criuProbeKept, true);
    assert.equal(parseCapabilities('b', 'criu_probe_kept=0\n').criuProbeKept, false);
    assert.equal(parseCapabilities('b', 'privilege=unprivileged\n').criuProbeKept, undefined);
  });

  it('defaults what is missing or unreadable', () => {
    const c = parseCapabilities('far', 'cpus=many\nload1=\n');
    assert.equal(c.hostname, 'far');
    assert.equal(c.cpus, 0);
    assert.equal(c.load1, 0);
    assert.equal(c.privilege, 'none');
    assert.equal(c.helperVersion, '');
    assert.equal(c.kernel, '');
  });
});

describe('versionAtLeast', () => {
  it('compares part by part, numerically', () => {
    assert.equal(versionAtLeast('4.2.1', '4.2'), true);
    assert.equal(versionAtLeast('4.2', '4.2'), true);
    assert.equal(versionAtLeast('4.2', '4.2.0'), true);
    assert.equal(versionAtLeast('4.10', '4.2'), true);
    assert.equal(versionAtLeast('5.0', '4.2'), true);
    assert.equal(versionAtLeast('4.1.1', '4.2'), false);
    assert.equal(versionAtLeast('3.17.1', '4.2'), false);
    assert.equal(versionAtLeast('4.2', '4.2.1'), false);
  });

  it('treats no version as too old', () => {
    assert.equal(versionAtLeast(undefined, '4.2'), false);
    assert.equal(versionAtLeast('', '4.2'), false);
  });
});
