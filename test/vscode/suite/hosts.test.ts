import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendHostBlock, formatHostBlock, hasHostAlias, validateAlias } from '../../../src/ui/hosts/sshConfigEdit';

describe('Add Host (ssh config edits)', () => {
  it('formats a Host block and refuses bad or taken aliases', () => {
    assert.equal(formatHostBlock({ alias: 'box', hostName: 'box.example.com', user: 'me', port: 2222 }), 'Host box\n  HostName box.example.com\n  User me\n  Port 2222\n');
    assert.equal(formatHostBlock({ alias: 'b', hostName: '10.0.0.2', port: 22 }), 'Host b\n  HostName 10.0.0.2\n');
    assert.equal(validateAlias('ok-name_1.x'), undefined);
    assert.ok(validateAlias('two words'));
    assert.ok(validateAlias('web*'));
    assert.ok(validateAlias('local'));
    assert.equal(hasHostAlias('Host a b\n  HostName x\nhost c\n', 'b'), true);
    assert.equal(hasHostAlias('Host ab\n', 'b'), false);
  });

  it('appends after a blank line and creates a missing file private', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-addhost-'));
    const file = join(dir, 'ssh', 'config');
    await appendHostBlock(file, 'Host one\n  HostName 1.1.1.1\n');
    await appendHostBlock(file, 'Host two\n  HostName 2.2.2.2\n');
    assert.equal(readFileSync(file, 'utf8'), 'Host one\n  HostName 1.1.1.1\n\nHost two\n  HostName 2.2.2.2\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ssh')).mode & 0o777, 0o700);
  });
});
