// A program started in a VS Code terminal on this machine moves to lab-b and goes on in a new
// VS Code terminal bridged to its tmux session there: typed lines reach it with its count intact,
// resizes reach tmux, Ctrl-C ends it and closes the terminal with the exit code; the terminal
// it left shows a notice. Needs the lab (PM_LAB_SSH_CONFIG, set by test/vscode/run.ts).
import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { MigrationResult } from '../../../src/migration/api';
import { Commands } from '../../../src/ui/common/contributions';
import { findProcess } from '../../../src/ui/common/processForest';
import type { MovedTerminal } from '../../../src/ui/terminals/terminalMoves';
import { activeApi, labSharedDir, labSsh, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;
describeWithLab('Terminal processes (local → lab-b)', function () {
  this.timeout(180_000);
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  let dir = '';
  const opened: vscode.Terminal[] = [];
  let session: string | undefined;

  before(async () => {
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    const base = labSharedDir('terminal');
    dir = mkdtempSync(join(base, 'terminal-'));
  });

  after(async () => {
    for (const t of opened) t.dispose();
    if (session) await labSsh('lab-b', `tmux kill-session -t '=${session}' 2>/dev/null; true`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves a program from a VS Code terminal to lab-b, where a new terminal reaches it', async () => {
    const api = await activeApi();
    const answers = join(dir, 'answers');
    const program = join(dir, 'pm-counter');
    // Answers on its terminal, and in a side file the test reads on either host (shared files).
    writeFileSync(program, `#!/bin/sh\nn=0\nwhile IFS= read -r l; do n=$((n+1)); echo "got $n: $l"; echo "got $n: $l" >> '${answers}'; done\n`);
    chmodSync(program, 0o755);

    // `script` records what the terminal shows, so the notice can be read back.
    const screen = join(dir, 'origin-screen');
    const origin = vscode.window.createTerminal({
      name: 'pm-origin',
      cwd: dir,
      shellPath: '/usr/bin/script',
      shellArgs: ['-q', '-f', '-c', 'bash --norc --noprofile', screen],
    });
    opened.push(origin);
    await until('the terminal shell', async () => await origin.processId);
    origin.sendText(program);
    const job = await until('pm-counter to run', async () => {
      await api.model.refresh(['local']);
      return api.model.host('local')?.processes?.find((p) => p.name === 'pm-counter' && p.command.includes(program));
    });
    assert.ok(job.tty, 'pm-counter has no terminal');
    origin.sendText('one');
    await until('the first answer', () => read(answers).includes('got 1: one'));

    // The Processes view marks it as started in this workspace's terminal.
    const host = api.tree.hostNode('local');
    await api.tree.getChildren(host);
    const node = findProcess(api.model.forest('local'), job.pid);
    assert.ok(node, 'pm-counter is not in the tree');
    const item = api.tree.getTreeItem({ kind: 'process', host: 'local', node, parent: host });
    assert.match(String(item.description), /in terminal 'pm-origin'/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'terminal');

    let moved: MovedTerminal | undefined;
    let output = '';
    const onOpen = api.terminals.onDidOpen((m) => {
      moved = m;
      m.pty?.onDidWrite((d) => (output += d));
    });
    let result: MigrationResult | undefined;
    try {
      result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'local', pid: job.pid }, 'lab-b');
    } finally {
      onOpen.dispose();
    }
    assert.ok(result, 'no result');
    assert.equal(result.ok, true, result.error);
    assert.equal(result.terminal?.host, 'lab-b');
    session = result.terminal.session;
    assert.ok(moved?.pty, 'no terminal opened for the moved process');
    opened.push(moved.terminal);
    assert.equal(moved.terminal.name, 'pm-counter @ lab-b');

    // The terminal it left says where it went, as output: the shell never ran it as a command.
    assert.equal(moved.noticeWrittenTo, `/dev/${job.tty}`);
    await until('the notice', () => /pm-counter \(PID \d+\) moved to lab-b: it runs on in terminal 'pm-counter @ lab-b'/.test(read(screen)));
    assert.doesNotMatch(read(screen), /command not found/);

    // Typed into the new terminal, a line reaches the process on lab-b, which kept its count.
    moved.terminal.sendText('two');
    await until('the answer from lab-b', () => read(answers).includes('got 2: two'));
    await until('the answer on the new terminal', () => output.includes('got 2: two'));
    assert.equal(await labSsh('lab-b', `kill -0 ${result.destinationPid} && echo runs`), 'runs');

    // A resize reaches the remote pty, and tmux's window follows it.
    moved.pty.setDimensions({ columns: 97, rows: 31 });
    await until('tmux to take the new size', async () => (await labSsh('lab-b', `tmux list-windows -t '=${session}' -F '#{window_width}x#{window_height}'`)) === '97x31');

    // Ctrl-C ends the process there, and its exit code (SIGINT: 130) closes the terminal.
    const closed = new Promise<vscode.Terminal>((resolve) => {
      const sub = vscode.window.onDidCloseTerminal((t) => {
        if (t === moved!.terminal) {
          sub.dispose();
          resolve(t);
        }
      });
    });
    moved.terminal.sendText('\x03', false);
    const terminal = await closed;
    assert.equal(terminal.exitStatus?.code, 130);
    assert.equal(await labSsh('lab-b', `kill -0 ${result.destinationPid} 2>/dev/null && echo runs || echo gone`), 'gone');
    session = undefined;
  });
});
