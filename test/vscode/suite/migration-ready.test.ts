// Migration-ready starts in the real VS Code, with Node.js 24 (which opens an io_uring CRIU cannot
// checkpoint unless it is started migration-ready): with `processMigrator.migrationReady` on, a new
// terminal is the Process Migrator profile, a Node 24 program started there holds no io_uring and
// moves to lab-b with its terminal and its count; a Node 24 `launch` configuration starts the same
// way, and Migrate Debug Session moves it paused at a breakpoint. Needs the lab (PM_LAB_SSH_CONFIG);
// fails when Node 24 cannot be installed.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { MigrationResult } from '../../../src/migration/api';
import { Commands, MIGRATION_READY_PROFILE } from '../../../src/ui/common/contributions';
import type { DebugSessionMove } from '../../../src/ui/debug/debugSessionMigration';
import type { MovedTerminal } from '../../../src/ui/terminals/terminalMoves';
import { BREAKPOINT_LINE, PROGRAM, counterAt, trackStops, type Stop } from './debugCounter';
import { activeApi, alive, descriptorsOf, labSharedDir, labSsh, node24, seccompModeOf, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;
const holdsIoUring = (pid: number) => descriptorsOf(pid).some((d) => d.includes('io_uring'));

describeWithLab('Migration-ready starts (Node.js 24 → lab-b)', function () {
  this.timeout(240_000);
  const settings = () => vscode.workspace.getConfiguration('processMigrator');
  const defaultProfile = () => vscode.workspace.getConfiguration('terminal.integrated').inspect<string>('defaultProfile.linux')?.workspaceValue;
  let node = '';
  let dir = '';
  const terminals: vscode.Terminal[] = [];
  const onLabB: number[] = [];
  const sessions: string[] = [];

  before(async () => {
    node = node24();
    await settings().update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    dir = mkdtempSync(join(labSharedDir('migration-ready'), 'vscode-'));
  });

  after(async () => {
    await vscode.debug.stopDebugging();
    for (const t of [...terminals, ...vscode.window.terminals.filter((t) => t.name.endsWith(' @ lab-b'))]) t.dispose();
    for (const pid of onLabB) await labSsh('lab-b', `kill -9 ${pid} 2>/dev/null; true`).catch(() => undefined);
    for (const s of sessions) await labSsh('lab-b', `tmux kill-session -t '=${s}' 2>/dev/null; true`).catch(() => undefined);
    await settings().update('migrationReady', undefined, vscode.ConfigurationTarget.Workspace);
    const api = await activeApi();
    for (const f of api.forwards.list()) await api.forwards.stop(f.id);
    rmSync(dir, { recursive: true, force: true });
  });

  it('Node 24 started plainly holds an io_uring (what the filter prevents)', async () => {
    const plain = spawn(node, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await until('Node 24 to open its io_uring', () => (plain.pid && holdsIoUring(plain.pid)) || undefined);
      assert.equal(seccompModeOf(plain.pid!), 0);
    } finally {
      plain.kill('SIGKILL');
    }
  });

  // The program stays in the terminal shell's session and Node.js reopens its terminal: CRIU
  // reopens that by its number, so the tmux pane on lab-b is given the same /dev/pts/N.
  it('with the setting on, a new terminal is the Process Migrator one; a Node 24 program there holds no io_uring and moves to lab-b, its count intact', async () => {
    const api = await activeApi();
    await settings().update('migrationReady', true, vscode.ConfigurationTarget.Workspace);
    await until('the workspace default profile', () => defaultProfile() === MIGRATION_READY_PROFILE.title || undefined);

    const opened = new Promise<vscode.Terminal>((resolve) => {
      const sub = vscode.window.onDidOpenTerminal((t) => {
        sub.dispose();
        resolve(t);
      });
    });
    await vscode.commands.executeCommand('workbench.action.terminal.new');
    const terminal = await opened;
    terminals.push(terminal);
    await until('the profile to name the terminal', () => /\(migration-ready\)$/.test(terminal.name) || undefined);
    const shell = await until('the terminal shell', async () => await terminal.processId);
    // The launcher execs the user's shell (the same PID, forked by the pty host), which runs under its filter.
    const userShell = realpathSync(process.env.SHELL || '/bin/sh');
    await until('the shell to replace the launcher', () => realpathSync(readlinkSync(`/proc/${shell}/exe`)) === userShell || undefined);
    assert.equal(seccompModeOf(shell), 2, 'the shell runs under the seccomp filter');

    // Answers on its terminal, and in a side file the test reads on either host (shared files).
    const answers = join(dir, 'terminal-answers');
    const program = join(dir, 'ready-counter.js');
    writeFileSync(
      program,
      `let n = 0, buf = '';\nprocess.stdin.setEncoding('utf8');\nprocess.stdin.on('data', (d) => {\n  buf += d;\n  for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) {\n` +
        `    const line = \`got \${++n}: \${buf.slice(0, i).trim()}\`;\n    console.log(line);\n    require('fs').appendFileSync(${JSON.stringify(answers)}, line + '\\n');\n  }\n});\n`,
    );
    const read = () => (existsSync(answers) ? readFileSync(answers, 'utf8') : '');
    terminal.sendText(`cd '${dir}' && '${node}' '${program}'`);
    const job = await until('the Node 24 program to run', async () => {
      await api.model.refresh(['local']);
      return api.model.host('local')?.processes?.find((p) => p.command.includes(program) && p.ppid === shell);
    });
    terminal.sendText('one');
    await until('the first answer', () => read().includes('got 1: one'));
    assert.equal(realpathSync(readlinkSync(`/proc/${job.pid}/exe`)), realpathSync(node));
    assert.equal(seccompModeOf(job.pid), 2, 'the program inherited the filter');
    assert.ok(!holdsIoUring(job.pid), `Node 24 holds an io_uring: ${descriptorsOf(job.pid).join(' ')}`);

    let moved: MovedTerminal | undefined;
    const onOpen = api.terminals.onDidOpen((m) => (moved = m));
    let result: MigrationResult | undefined;
    try {
      result = await vscode.commands.executeCommand<MigrationResult>(Commands.Migrate, { host: 'local', pid: job.pid }, 'lab-b');
    } finally {
      onOpen.dispose();
    }
    assert.ok(result, 'no result');
    assert.equal(result.ok, true, result.error);
    onLabB.push(result.destinationPid!);
    if (result.terminal) sessions.push(result.terminal.session);
    assert.ok(moved, 'no terminal opened for the moved program');
    terminals.push(moved.terminal);
    assert.ok(!alive(job.pid), 'the program still runs here');
    // CRIU restored the filter with the process: its children there cannot open one either.
    assert.equal(await labSsh('lab-b', `sed -n 's/^Seccomp:[[:space:]]*//p' /proc/${result.destinationPid}/status`), '2');

    moved.terminal.sendText('two');
    await until('the answer from lab-b', () => read().includes('got 2: two'));

    // Turned off, the workspace's default terminal is the user's again.
    await settings().update('migrationReady', false, vscode.ConfigurationTarget.Workspace);
    await until('the default profile to be removed', () => defaultProfile() === undefined || undefined);
  });

  // internalConsole (js-debug's default) gives the program sockets as stdio; integratedTerminal a terminal.
  for (const consoleKind of ['internalConsole', 'integratedTerminal']) {
    it(`with the setting on, a Node 24 launch (console: ${consoleKind}) stops at a breakpoint, moves with Migrate Debug Session, and stops there again on lab-b with its count`, async () => {
      const api = await activeApi();
      await settings().update('migrationReady', true, vscode.ConfigurationTarget.Workspace);
      const file = join(dir, `counter-${consoleKind}.js`);
      writeFileSync(file, PROGRAM);
      const stops: Stop[] = [];
      const tracker = trackStops(stops);
      const breakpoint = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(file), new vscode.Position(BREAKPOINT_LINE, 0)));
      vscode.debug.addBreakpoints([breakpoint]);
      let pid: number | undefined;
      try {
        // The working directory is one lab-b has too (the test workspace is under this machine's /tmp).
        const config = { type: 'node', request: 'launch', name: 'ready-counter', program: file, cwd: dir, runtimeExecutable: node, console: consoleKind };
        assert.ok(await vscode.debug.startDebugging(undefined, config), 'the debugger did not start');
        const first = await until('the breakpoint to be hit', () => stops[0]);
        pid = (await api.debugSessions.debuggee(first.session)).pid;
        assert.equal(realpathSync(readlinkSync(`/proc/${pid}/exe`)), realpathSync(node));
        assert.equal(seccompModeOf(pid), 2, 'the launched program runs under the filter');
        assert.ok(!holdsIoUring(pid), `Node 24 holds an io_uring: ${descriptorsOf(pid).join(' ')}`);
        // Its output goes to js-debug's terminal, or to pipes the wrapper put in place of js-debug's sockets.
        assert.match(readlinkSync(`/proc/${pid}/fd/1`), consoleKind === 'integratedTerminal' ? /^\/dev\/pts\// : /^pipe:/);
        // A jump only this process's heap knows: a restarted program would count from 1 again.
        const { stackFrames } = await first.session.customRequest('stackTrace', { threadId: first.threadId, startFrame: 0, levels: 1 });
        await first.session.customRequest('evaluate', { expression: 'counter += 1000', frameId: stackFrames[0].id, context: 'repl' });
        const before = (await counterAt(first)) + 1000;

        let terminal: MovedTerminal | undefined;
        const onOpen = api.terminals.onDidOpen((m) => (terminal = m));
        let moved: DebugSessionMove | undefined;
        try {
          moved = await vscode.commands.executeCommand<DebugSessionMove>(Commands.MigrateDebugSession, first.session, 'lab-b');
        } finally {
          onOpen.dispose();
        }
        assert.ok(moved, 'the command moved nothing');
        assert.equal(moved.result.ok, true, moved.result.error);
        // A program on js-debug's terminal goes on in a terminal of its own there, as from any terminal.
        if (consoleKind === 'integratedTerminal') assert.match(terminal?.terminal.name ?? 'no terminal opened', / @ lab-b$/);
        onLabB.push(moved.result.destinationPid!);
        if (moved.result.terminal) sessions.push(moved.result.terminal.session);
        assert.equal(moved.debuggee.pid, pid);
        assert.ok(!alive(pid), 'the program still runs here');
        assert.ok(moved.session, 'no debug session attached on lab-b');
        assert.equal(moved.session.name, 'ready-counter @ lab-b');
        const root = moved.session;
        const again = await until('the breakpoint to be hit on lab-b', () => stops.find((s) => s.session.id === root.id || s.session.parentSession?.id === root.id));
        const after = await counterAt(again);
        assert.ok(after > before, `the counter continues: ${before} before the move, ${after} after (a restart would count from 1)`);
      } finally {
        await vscode.debug.stopDebugging();
        vscode.debug.removeBreakpoints([breakpoint]);
        tracker.dispose();
        if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  it('with the setting on, the command of a node-terminal launch runs migration-ready', async () => {
    await settings().update('migrationReady', true, vscode.ConfigurationTarget.Workspace);
    const report = join(dir, 'node-terminal-report');
    // After an asynchronous read, when a plain Node 24 holds its io_uring.
    const probe = [
      "const fs = require('fs');",
      'setTimeout(async () => {',
      "  const status = await fs.promises.readFile('/proc/self/status', 'utf8');",
      "  const uring = fs.readdirSync('/proc/self/fd').some((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f).includes('io_uring'); } catch { return false; } });",
      `  fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify({ seccomp: /^Seccomp:\\s*(\\d)/m.exec(status)[1], uring }));`,
      '}, 500);',
      '',
    ].join('\n');
    const probeFile = join(dir, 'node-terminal-probe.js');
    writeFileSync(probeFile, probe);
    try {
      const config = { type: 'node-terminal', request: 'launch', name: 'ready-terminal', command: `'${node}' '${probeFile}'`, cwd: dir };
      assert.ok(await vscode.debug.startDebugging(undefined, config), 'the debugger did not start');
      const seen = await until('the program to report', () => (existsSync(report) && readFileSync(report, 'utf8')) || undefined, 60_000);
      assert.deepEqual(JSON.parse(seen), { seccomp: '2', uring: false });
    } finally {
      await vscode.debug.stopDebugging();
      for (const t of vscode.window.terminals) if (/ready-terminal|JavaScript Debug/.test(t.name)) t.dispose();
    }
  });
});
