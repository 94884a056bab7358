// The VS Code suites that need the lab (test/vscode/suite/lab.ts): without a lab they fail, and
// skip only when the run asks for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labMode, NO_LAB } from '../vscode/suite/lab';

describe('VS Code suites that need the lab', () => {
  it('run with the lab, fail without it, and skip only when PROCESS_MIGRATOR_SKIP_LAB=1', () => {
    assert.equal(labMode({ PM_LAB_SSH_CONFIG: '/work/.lab/ssh_config' }), 'run');
    assert.equal(labMode({}), 'fail');
    assert.equal(labMode({ PROCESS_MIGRATOR_SKIP_LAB: '0' }), 'fail');
    assert.equal(labMode({ PROCESS_MIGRATOR_SKIP_LAB: '1' }), 'skip');
    assert.equal(labMode({ PROCESS_MIGRATOR_SKIP_LAB: '1', PM_LAB_SSH_CONFIG: '/work/.lab/ssh_config' }), 'skip');
    assert.match(NO_LAB, /sh scripts\/lab\.sh up.*PROCESS_MIGRATOR_SKIP_LAB=1/);
  });
});
