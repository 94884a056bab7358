// Hosts as a developer has them: Set Up Host… on a lab host, and a move made as the lab's normal
// user (lab-a-dev, lab-b-dev: pmdev), whose CRIU runs in its unprivileged mode.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { HostReport, MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import { activeApi, labSsh, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;
describeWithLab('Hosts of a normal user (lab)', function () {
  this.timeout(180_000);
  const count = async (host: string, file: string) => Number((await labSsh(host, `cat ${file} 2>/dev/null || echo 0`)) || 0);

  before(async () => {
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
  });

  it('Set Up Host… on lab-a installs nothing twice and leaves it ready', async () => {
    const report = await vscode.commands.executeCommand<HostReport>(Commands.SetUpHost, 'lab-a');
    assert.ok(report, 'Set Up Host returned nothing (it failed: see the log)');
    assert.equal(report.reachable, true);
    assert.deepEqual(report.problems, []);
    const api = await activeApi();
    assert.equal(api.model.host('lab-a')?.report?.capabilities?.criuVersion, '4.2.1');
  });

  it("moves pmdev's own process from lab-a-dev to lab-b-dev, with CRIU as pmdev in its unprivileged mode", async () => {
    const file = '/tmp/pmdev-vscode-counter';
    const pid = Number(
      await labSsh('lab-a-dev', `cd ~ && { setsid python3 -c 'import time
n = 0
while True:
    n += 1; open("${file}", "w").write(str(n)); time.sleep(0.1)' </dev/null >/dev/null 2>&1 & echo $!; }`),
    );
    try {
      await until('the counter on lab-a-dev', async () => (await count('lab-a-dev', file)) >= 5 || undefined);
      const api = await activeApi();
      await api.model.refresh(['lab-a-dev']);
      const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'lab-a-dev', pid }, 'lab-b-dev');
      assert.ok(result, 'no result');
      assert.equal(result.ok, true, result.error);
      assert.ok(result.options.some((o) => o.option === 'restore --unprivileged'), result.options.map((o) => o.option).join(', '));
      const before = await count('lab-b-dev', file);
      await until('the counter going on on lab-b-dev', async () => (await count('lab-b-dev', file)) > before || undefined);
      assert.equal(await labSsh('lab-b-dev', `stat -c %U /proc/${result.destinationPid}`), 'pmdev');
      await labSsh('lab-b-dev', `kill ${result.destinationPid}`);
    } finally {
      await labSsh('lab-a-dev', `kill ${pid} 2>/dev/null; true`);
    }
  });
});
