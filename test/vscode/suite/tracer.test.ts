// Migrate Process of a process that `strace -p` traces on lab-a: CRIU cannot checkpoint a traced
// process, so the engine's preflight names the tracer before anything is frozen and the extension
// asks whether to stop it. The modal cannot be clicked from the extension host: its answer comes
// through the command's `tracerModal` seam (src/ui/migrate/tracerPrompt.ts). Needs the lab (PM_LAB_SSH_CONFIG).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { MigrationProgress, MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import { STOP_TRACER, type TracerModal } from '../../../src/ui/migrate/tracerPrompt';
import { activeApi, alive, labSharedDir, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;

describeWithLab('Migrate Process of a traced process (lab-a → lab-b)', function () {
  this.timeout(180_000);
  const program = '/tmp/pmtest-traced';
  const started: { host: string; pid: number }[] = [];
  const start = async (host: string, command: string) => {
    const pid = Number(await labSsh(host, `{ setsid ${command} </dev/null >/dev/null 2>&1 & echo $!; }`));
    started.push({ host, pid });
    return pid;
  };
  const tracerOf = async (pid: number) => Number(await labSsh('lab-a', `awk '/^TracerPid:/ {print $2}' /proc/${pid}/status 2>/dev/null || echo 0`)) || 0;

  /** A sleep on lab-a under `strace -p`: [its PID, strace's PID]. */
  const traced = async (): Promise<[number, number]> => {
    const pid = await start('lab-a', `${program} 900`);
    const strace = await start('lab-a', `strace -p ${pid} -o /dev/null`);
    await until('strace to attach', async () => ((await tracerOf(pid)) === strace ? true : undefined));
    return [pid, strace];
  };

  /** Migrates `pid` with the modal answering `answer`; records what it asked and the phases seen by then. */
  const migrate = async (pid: number, answer: string | undefined, from = 'lab-a') => {
    const phases: string[] = [];
    const asked: { message: string; detail: string; phasesBefore: string[] }[] = [];
    const tracerModal: TracerModal = async (message, detail, button) => {
      assert.equal(button, STOP_TRACER);
      asked.push({ message, detail, phasesBefore: [...phases] });
      return answer;
    };
    const onProgress = (p: MigrationProgress) => phases.push(p.phase);
    const result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: from, pid }, 'lab-b', { tracerModal, onProgress });
    assert.ok(result, 'no result');
    return { result, asked, phases };
  };

  before(async () => {
    for (const host of ['lab-a', 'lab-b']) await labSsh(host, `[ -x ${program} ] || cp /bin/sleep ${program}`);
    await labSsh('lab-a', 'command -v strace');
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    await (await activeApi()).model.refresh(['lab-a', 'lab-b']);
  });

  after(async () => {
    for (const { host, pid } of started) {
      if (host === 'local') alive(pid) && process.kill(pid, 'SIGKILL');
      else await labSsh(host, `kill -9 ${pid} 2>/dev/null; true`).catch(() => undefined);
    }
  });

  it('names the tracer before any freeze; answered Cancel, nothing moves and strace keeps tracing', async () => {
    const [pid, strace] = await traced();
    const { result, asked, phases } = await migrate(pid, undefined);
    assert.equal(asked.length, 1, 'asked once');
    assert.equal(asked[0].message, `pmtest-traced (PID ${pid}) on lab-a is traced by strace (PID ${strace}). Stop strace and migrate?`);
    assert.ok(!asked[0].phasesBefore.includes('freeze'), `asked after ${asked[0].phasesBefore.join(',')}`);
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', new RegExp(`is traced by strace \\(PID ${strace}\\), and CRIU cannot checkpoint a traced process`));
    assert.ok(!phases.includes('freeze'), 'never frozen');
    assert.ok(await runsOn('lab-a', pid), 'the process still runs on lab-a');
    assert.equal(await tracerOf(pid), strace, 'strace still traces it');
  });

  it(`answered "${STOP_TRACER}", strace is stopped and the process moves to lab-b`, async () => {
    const [pid, strace] = await traced();
    const { result, asked } = await migrate(pid, STOP_TRACER);
    assert.equal(asked.length, 1, 'asked once');
    assert.match(asked[0].message, new RegExp(`is traced by strace \\(PID ${strace}\\)`));
    assert.ok(!asked[0].phasesBefore.includes('freeze'), `asked after ${asked[0].phasesBefore.join(',')}`);
    assert.equal(result.ok, true, result.error);
    await until('strace to be stopped (and reaped)', async () => ((await runsOn('lab-a', strace)) ? undefined : true), 5_000);
    assert.ok(!(await runsOn('lab-a', pid)), 'the process left lab-a');
    started.push({ host: 'lab-b', pid: result.destinationPid! });
    assert.ok(await runsOn('lab-b', result.destinationPid!), 'the process runs on lab-b');
  });

  it('a process of this machine too: started from the extension host, it also holds its ~9 log files, each given a new file on lab-b', async () => {
    const file = join(labSharedDir('tracer'), 'pmtest-traced');
    copyFileSync('/bin/sleep', file);
    const child = spawn(file, ['900'], { cwd: labSharedDir('tracer'), detached: true, stdio: 'ignore' }); // its cwd must exist on lab-b too
    child.unref();
    const pid = child.pid!;
    started.push({ host: 'local', pid });
    const strace = spawn('strace', ['-p', String(pid), '-o', '/dev/null'], { detached: true, stdio: 'ignore' });
    strace.unref();
    started.push({ host: 'local', pid: strace.pid! });
    await until('strace to attach', async () => (/^TracerPid:\s*[1-9]/m.test(await readFile(`/proc/${pid}/status`, 'utf8')) ? true : undefined));
    await (await activeApi()).model.refresh(['local']);

    const { result, asked } = await migrate(pid, STOP_TRACER, 'local');
    assert.equal(asked.length, 1, 'asked once');
    assert.match(asked[0].message, new RegExp(`^pmtest-traced \\(PID ${pid}\\) on local is traced by strace \\(PID ${strace.pid}\\)`));
    assert.equal(result.ok, true, result.error);
    await until('strace to be stopped', () => (alive(strace.pid!) ? undefined : true), 5_000);
    started.push({ host: 'lab-b', pid: result.destinationPid! });
    assert.ok(await runsOn('lab-b', result.destinationPid!), 'the process runs on lab-b');
    const logs = result.options.filter((o) => o.option.startsWith('restore --inherit-fd') && /\.log$/.test(o.option));
    assert.ok(logs.length > 6, `VS Code's log files each get a new file: ${JSON.stringify(result.options)}`);
  });
});
