// Migrations through the real engine. Without the lab only the failure path is exercised; with
// PM_LAB_SSH_CONFIG (set by test/vscode/run.ts when .lab/ssh_config exists and lab-a answers) a real
// process moves from lab-a to lab-b, and a cancelled migration leaves it running on lab-a.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MigrationProgress, MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import { activeApi, alive, labSsh, runsOn, spawnMarker } from './helpers';
import { describeWithLab } from './lab';

describe('Migrate Process (real engine)', () => {
  it('fails with one sentence and leaves the process running when the destination does not exist', async () => {
    const api = await activeApi();
    const marker = spawnMarker();
    try {
      await api.model.refresh(['local']);
      const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'local', pid: marker.pid }, 'no-such-host.invalid');
      assert.ok(result, 'the command returned no result');
      assert.equal(result.ok, false);
      assert.ok(result.error && result.error.length > 10, `error: ${result.error}`);
      assert.ok(!result.error.includes('\n'), 'the error is one sentence, one line');
      assert.ok(alive(marker.pid!), 'the source process still runs');
      assert.equal(api.history.latest()?.result.sourcePid, marker.pid);
    } finally {
      marker.kill('SIGKILL');
    }
  });
});

const labConfig = process.env.PM_LAB_SSH_CONFIG;
describeWithLab('Migrate Process between lab hosts', function () {
  this.timeout(180_000);
  // CRIU restores the same executable path on the destination, so the program exists on both hosts.
  const program = '/tmp/pmtest-lab';
  const install = (host: string) => labSsh(host, `[ -x ${program} ] || cp /bin/sleep ${program}`);
  const startOnLabA = async () => Number(await labSsh('lab-a', `{ setsid ${program} 900 </dev/null >/dev/null 2>&1 & echo $!; }`));

  before(async () => {
    await install('lab-a');
    await install('lab-b');
    const config = vscode.workspace.getConfiguration('processMigrator');
    await config.update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    const api = await activeApi();
    await api.model.refresh();
  });

  it('moves a running process from lab-a to lab-b', async () => {
    const api = await activeApi();
    const pid = await startOnLabA();
    await api.model.refresh(['lab-a']);
    const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'lab-a', pid }, 'lab-b');
    assert.ok(result, 'no result');
    assert.equal(result.ok, true, result.error);
    assert.ok(result.destinationPid, 'no destination PID');
    assert.ok(await runsOn('lab-b', result.destinationPid!), 'the process does not run on lab-b');
    assert.ok(!(await runsOn('lab-a', pid)), 'the process still runs on lab-a');
    await labSsh('lab-b', `kill ${result.destinationPid}`);
  });

  it('cancelling rolls back: the process keeps running on lab-a', async () => {
    const api = await activeApi();
    const pid = await startOnLabA();
    await api.model.refresh(['lab-a']);
    const abort = new AbortController();
    const phases: string[] = [];
    const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'lab-a', pid }, 'lab-b', {
      signal: abort.signal,
      onProgress: (p: MigrationProgress) => {
        phases.push(p.phase);
        if (p.phase === 'freeze' || p.phase === 'dump') abort.abort();
      },
    });
    assert.ok(result, 'no result');
    assert.equal(result.ok, false, `phases: ${phases.join(',')}`);
    assert.ok(await runsOn('lab-a', pid), 'the source does not run any more');
    await labSsh('lab-a', `kill ${pid}`);
  });
});
