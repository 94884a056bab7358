// The VS Code suites that need the lab (test/vscode/suite/lab.ts): without a lab they fail, and
// skip only when the run asks for it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LAB_HOSTS, labMode, NO_LAB } from '../vscode/suite/lab';

describe('VS Code suites that need the lab', () => {
  it('run with the lab, fail without it, and skip only when PROCESS_MIGRATOR_SKIP_LAB=1', () => {
    assert.equal(labMode({ PM_LAB_SSH_CONFIG: '/work/.lab/ssh_config' }), 'run');
    assert.equal(labMode({}), 'fail');
    assert.equal(labMode({ PROCESS_MIGRATOR_SKIP_LAB: '0' }), 'fail');
    assert.equal(labMode({ PROCESS_MIGRATOR_SKIP_LAB: '1' }), 'skip');
    assert.equal(labMode({ PROCESS_MIGRATOR_SKIP_LAB: '1', PM_LAB_SSH_CONFIG: '/work/.lab/ssh_config' }), 'skip');
    assert.match(NO_LAB, /sh scripts\/lab\.sh up.*PROCESS_MIGRATOR_SKIP_LAB=1/);
  });

  it('need every host of scripts/lab.sh, the third one (placement) too', () => {
    const labSh = readFileSync(join(__dirname, '..', '..', 'scripts', 'lab.sh'), 'utf8');
    assert.deepEqual(LAB_HOSTS, /^HOSTS="(.*)"$/m.exec(labSh)?.[1].split(' '));
    assert.match(NO_LAB, /^No lab: lab-a, lab-b, lab-c did not answer/);
  });
});
