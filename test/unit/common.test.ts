// The host-free helpers every layer shares: sizes and paths for people.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatKiB } from '../../src/common/format';
import { tilde } from '../../src/common/paths';

describe('formatBytes and formatKiB', () => {
  it('use B below a KiB, then KiB, MiB and GiB with one decimal', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536 * 1024), '1.5 MiB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
  });

  it('read KiB counts (ps rss, meminfo) the same way', () => {
    assert.equal(formatKiB(0), '0 B');
    assert.equal(formatKiB(4), '4.0 KiB');
    assert.equal(formatKiB(48 * 1024), '48.0 MiB');
    assert.equal(formatKiB(3 * 1024 * 1024), '3.0 GiB');
  });
});

describe('tilde', () => {
  it('shortens paths under the home directory, and only those', () => {
    assert.equal(tilde('/home/ada/.ssh/id_ed25519', '/home/ada'), '~/.ssh/id_ed25519');
    assert.equal(tilde('/home/adam/.ssh/id_ed25519', '/home/ada'), '/home/adam/.ssh/id_ed25519');
    assert.equal(tilde('/home/ada', '/home/ada'), '/home/ada');
    assert.equal(tilde('/etc/ssh/ssh_known_hosts', '/home/ada'), '/etc/ssh/ssh_known_hosts');
  });
});
