// Migrate Debug Session… in the real VS Code with its built-in JavaScript debugger (js-debug): a
// Node.js program on this machine (host "local"), paused at a breakpoint, moves to lab-b; a new
// session "<name> @ lab-b" attaches through the forwarded inspector port, stops at the same
// breakpoint, and the counter it shows continues from where it was. Needs the lab (PM_LAB_SSH_CONFIG).
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { DebugSessionMove } from '../../../src/ui/debug/debugSessionMigration';
import { Commands } from '../../../src/ui/common/contributions';
import { BREAKPOINT_LINE, PROGRAM, counterAt, trackStops, type Stop } from './debugCounter';
import { activeApi, alive, labSharedDir, labSsh, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;

describeWithLab('Migrate Debug Session', function () {
  this.timeout(180_000);
  const stops: Stop[] = [];
  const disposables: vscode.Disposable[] = [];
  let program: ChildProcess | undefined;
  let moved: DebugSessionMove | undefined;
  let breakpoint: vscode.SourceBreakpoint | undefined;

  before(async () => {
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    disposables.push(trackStops(stops));
  });

  after(async () => {
    for (const s of [moved?.session].filter((s): s is vscode.DebugSession => !!s)) await vscode.debug.stopDebugging(s);
    await vscode.debug.stopDebugging();
    if (breakpoint) vscode.debug.removeBreakpoints([breakpoint]);
    const destinationPid = moved?.result.destinationPid;
    if (destinationPid) await labSsh('lab-b', `kill -9 ${destinationPid} 2>/dev/null; true`).catch(() => undefined);
    if (program?.pid && alive(program.pid)) program.kill('SIGKILL');
    const api = await activeApi();
    for (const f of api.forwards.list()) await api.forwards.stop(f.id);
    for (const d of disposables) d.dispose();
  });

  it('moves a Node program paused at a breakpoint to lab-b; the new session stops there again and its counter continues', async () => {
    const api = await activeApi();
    const dir = labSharedDir('debug-vscode');
    const file = join(dir, 'counter.js');
    writeFileSync(file, PROGRAM);
    const port = 19339;
    // As from a terminal: the machine's Node 20 (CRIU 4.2 cannot checkpoint the io_uring instances
    // of Node 22+, like the extension host's Node 24), without the VS Code server's log files that
    // the extension host's children inherit (more write-only files than a move gives new ones).
    const closeInherited = 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null';
    program = spawn('bash', ['-c', `${closeInherited}; exec /usr/bin/node --inspect=127.0.0.1:${port} ${file}`], { cwd: dir, detached: true, stdio: 'ignore' });
    program.unref();
    const pid = program.pid!;

    breakpoint = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(file), new vscode.Position(BREAKPOINT_LINE, 0)));
    vscode.debug.addBreakpoints([breakpoint]);
    await until('the inspector to listen', async () => (await fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.ok).catch(() => false)) || undefined);
    assert.ok(await vscode.debug.startDebugging(undefined, { type: 'node', request: 'attach', name: 'counter', address: '127.0.0.1', port }), 'the debugger did not start');
    const first = await until('the breakpoint to be hit', () => stops[0]);
    // A jump only this process's heap knows: a restarted program would count from 1 again.
    const { stackFrames } = await first.session.customRequest('stackTrace', { threadId: first.threadId, startFrame: 0, levels: 1 });
    await first.session.customRequest('evaluate', { expression: 'counter += 1000', frameId: stackFrames[0].id, context: 'repl' });
    const before = (await counterAt(first)) + 1000;
    assert.ok((await api.debugSessions.roots()).has(pid), 'the debuggee is marked as this workspace’s in the Processes view');

    moved = await vscode.commands.executeCommand<DebugSessionMove>(Commands.MigrateDebugSession, first.session, 'lab-b');
    assert.ok(moved, 'the command moved nothing');
    assert.equal(moved.result.ok, true, moved.result.error);
    assert.equal(moved.debuggee.pid, pid);
    assert.equal(moved.debuggee.port, port);
    assert.ok(moved.session, 'no debug session attached on lab-b');
    assert.equal(moved.session.name, 'counter @ lab-b');
    assert.equal(await labSsh('lab-b', `kill -0 ${moved.result.destinationPid} && echo running`), 'running');
    assert.ok(!alive(pid), 'the program still runs here');
    assert.ok(api.forwards.list().some((f) => f.port === port && f.destination === 'lab-b'), 'the inspector port is forwarded');
    assert.ok(vscode.debug.breakpoints.includes(breakpoint), 'the breakpoint stays');

    const root = moved.session;
    const again = await until('the breakpoint to be hit on lab-b', () => stops.find((s) => s.session.id === root.id || s.session.parentSession?.id === root.id));
    const after = await counterAt(again);
    assert.ok(after > before, `the counter continues: ${before} before the move, ${after} after (a restart would count from 1)`);
  });
});

describeWithLab('Migrate Debug Session of a launched program', function () {
  this.timeout(180_000);
  it('detaches without ending it, and when the move fails the program runs on here and the debugger stops at the breakpoint again', async () => {
    const dir = labSharedDir('debug-vscode');
    const file = join(dir, 'counter-launch.js');
    writeFileSync(file, PROGRAM);
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(file), new vscode.Position(BREAKPOINT_LINE, 0)));
    vscode.debug.addBreakpoints([bp]);
    const stops: Stop[] = [];
    const tracker = trackStops(stops);
    let pid: number | undefined;
    try {
      // Its working directory is the test workspace, under this machine's /tmp, which lab-b lacks:
      // the preflight stops the move (launch sessions are otherwise moved like attach ones).
      const config = { type: 'node', request: 'launch', name: 'launched', program: file, cwd: vscode.workspace.workspaceFolders![0].uri.fsPath, runtimeExecutable: '/usr/bin/node' };
      assert.ok(await vscode.debug.startDebugging(undefined, config), 'the debugger did not start');
      const first = await until('the breakpoint to be hit', () => stops[0]);
      const before = await counterAt(first);

      const moved = await vscode.commands.executeCommand<DebugSessionMove>(Commands.MigrateDebugSession, first.session, 'lab-b');
      assert.ok(moved, 'the command moved nothing');
      pid = moved.debuggee.pid;
      assert.equal(moved.result.ok, false, 'the move was expected to stop in the preflight');
      assert.match(moved.result.error ?? '', /missing on lab-b/);
      assert.ok(alive(pid), 'the launched program ended: js-debug terminated it instead of detaching');
      assert.ok(moved.session, 'the debugger did not attach to the program here again');
      const root = moved.session;
      const again = await until('the breakpoint to be hit again', () => stops.find((s) => s.session.id === root.id || s.session.parentSession?.id === root.id));
      assert.ok((await counterAt(again)) > before, 'the same program, still counting');
    } finally {
      await vscode.debug.stopDebugging();
      vscode.debug.removeBreakpoints([bp]);
      tracker.dispose();
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
