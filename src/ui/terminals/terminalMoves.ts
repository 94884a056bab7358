// After a process that ran on a terminal moved (`result.terminal`): a VS Code terminal opens on its
// new terminal there, and the VS Code terminal it left gets a one-line notice where it went.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { Engine, MigrationResult, ProcessInfo } from '../../migration/api';
import { LOCAL_HOST } from '../view/processModel';
import { RemoteTerminal } from './remoteTerminal';
import { ownersByDescent, terminalRoots } from '../view/workspaceProcesses';

export interface MovedTerminal {
  terminal: vscode.Terminal;
  /** The Pseudoterminal bridging to the remote pty (absent for a local destination). */
  pty?: RemoteTerminal;
  /** The pty the notice was written to (`/dev/pts/3`), when the process came from a VS Code terminal. */
  noticeWrittenTo?: string;
}

export class TerminalMoves implements vscode.Disposable {
  private readonly openEmitter = new vscode.EventEmitter<MovedTerminal>();
  /** A moved process's terminal opened (for tests and other extensions). */
  readonly onDidOpen = this.openEmitter.event;

  constructor(
    private readonly engine: Engine,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Opens the moved process's terminal and leaves the notice; never rejects. `source` is the
   * process as listed on the origin before the move; `originProcesses` lists them after it
   * (the shell the process left is still there). */
  async follow(result: MigrationResult, source: ProcessInfo | undefined, originProcesses: () => Promise<ProcessInfo[]>): Promise<MovedTerminal | undefined> {
    const where = result.terminal;
    if (!result.ok || !where) return undefined;
    const processName = source?.name ?? `PID ${result.sourcePid}`;
    const name = `${processName} @ ${where.host}`;
    const iconPath = new vscode.ThemeIcon('arrow-swap');
    let moved: MovedTerminal;
    if (where.host === LOCAL_HOST) {
      // Here VS Code's own terminal is the pty tmux needs.
      const [shellPath, ...shellArgs] = where.attach;
      moved = { terminal: vscode.window.createTerminal({ name, shellPath, shellArgs, iconPath }) };
    } else if (this.engine.attachTerminal) {
      const engine = this.engine;
      const pty = new RemoteTerminal({
        start: (size) => engine.attachTerminal!(where, size),
        lostMessage: `Lost the connection to ${where.host}; ${processName} still runs there in tmux session ${where.session}.`,
        log: (line) => this.log.debug(`${name}: ${line}`),
      });
      moved = { terminal: vscode.window.createTerminal({ name, pty, iconPath }), pty };
    } else {
      return undefined;
    }
    moved.terminal.show(true);
    this.log.info(`${processName} continues in terminal '${name}' (tmux session ${where.session} on ${where.host}).`);

    if (result.from === LOCAL_HOST && source?.tty) {
      const text = `${processName} (PID ${result.sourcePid}) moved to ${where.host}: it runs on in terminal '${name}'.`;
      try {
        moved.noticeWrittenTo = await leaveNotice(source, await originProcesses(), text);
      } catch (err) {
        this.log.warn(`Could not leave a notice in the terminal ${processName} left: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.openEmitter.fire(moved);
    return moved;
  }

  dispose(): void {
    this.openEmitter.dispose();
  }
}

/**
 * Writes `text` on the terminal the process left, if that is one of this workspace's terminals.
 * Written to the pty's device, it is output the terminal shows, never input its shell reads
 * (sendText would type it), and the shell stays at its prompt.
 */
async function leaveNotice(source: ProcessInfo, originProcesses: ProcessInfo[], text: string): Promise<string | undefined> {
  // The process is gone; its parent (the terminal's shell, or a child of it) is not.
  const owners = ownersByDescent([...originProcesses.filter((p) => p.pid !== source.pid), source], await terminalRoots());
  if (!owners.has(source.pid) || !source.tty) return undefined;
  const device = `/dev/${source.tty}`;
  if (!/^\/dev\/pts\/\d+$/.test(device)) return undefined;
  // O_NOCTTY: the extension host must not make it its controlling terminal.
  const file = await open(device, constants.O_WRONLY | constants.O_NOCTTY);
  try {
    await file.write(`\r\n\x1b[2m[Process Migrator] ${text}\x1b[0m\r\n`);
  } finally {
    await file.close();
  }
  return device;
}
