// A VS Code terminal whose other end is a command on a remote pty (an SSH channel): what a moved
// terminal process is shown in. Output, input (Ctrl-C included: it is just a byte for the remote
// pty) and resizes go through; the command's end closes the terminal with its exit code, and
// closing the terminal hangs the command up.
import { StringDecoder } from 'node:string_decoder';
import * as vscode from 'vscode';
import type { RunningCommand } from '../../transport/host';

export type PtySize = { rows: number; cols: number };

export interface RemoteTerminalOptions {
  /** Starts the remote command on a pty of this size. */
  start: (size: PtySize) => Promise<RunningCommand>;
  /** Shown (and the terminal kept open) when the connection drops before the command ends. */
  lostMessage: string;
  log?: (line: string) => void;
}

export class RemoteTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private command?: RunningCommand;
  /** Typed before the command started. */
  private pendingInput = '';
  private size: PtySize = { rows: 24, cols: 80 };
  private closedByUser = false;
  private readonly exitEmitter = new vscode.EventEmitter<number | undefined>();
  /** Fires when the remote command ended (its exit code; undefined when it could not tell). */
  readonly onDidExit = this.exitEmitter.event;

  constructor(private readonly options: RemoteTerminalOptions) {}

  open(initial: vscode.TerminalDimensions | undefined): void {
    if (initial) this.size = { rows: initial.rows, cols: initial.columns };
    void this.options.start(this.size).then(
      (command) => this.attach(command),
      (err) => this.writeEmitter.fire(red(err instanceof Error ? err.message : String(err))),
    );
  }

  private attach(command: RunningCommand): void {
    if (this.closedByUser) return command.kill('SIGHUP');
    this.command = command;
    const decoder = new StringDecoder('utf8'); // a chunk may end inside a character
    command.stdout.on('data', (d: Buffer) => this.writeEmitter.fire(decoder.write(d)));
    command.stderr.on('data', (d: Buffer) => this.writeEmitter.fire(decoder.write(d)));
    if (this.pendingInput) command.stdin.write(this.pendingInput);
    this.pendingInput = '';
    command.resize?.(this.size.rows, this.size.cols);
    void command.exited.then(({ code, signal, connectionLost, error }) => {
      this.options.log?.(`Terminal command ended: code ${code}, signal ${signal ?? 'none'}${connectionLost ? ', connection lost' : ''}`);
      this.command = undefined;
      if (this.closedByUser) return;
      if (error || connectionLost) {
        this.writeEmitter.fire(red(error?.message ?? this.options.lostMessage));
        this.exitEmitter.fire(undefined);
        return; // stays open, so the message can be read
      }
      const exit = code ?? (signal ? 128 : 0);
      this.exitEmitter.fire(exit);
      this.closeEmitter.fire(exit);
    });
  }

  handleInput(data: string): void {
    if (this.command) this.command.stdin.write(data);
    else this.pendingInput += data;
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.size = { rows: dimensions.rows, cols: dimensions.columns };
    this.command?.resize?.(this.size.rows, this.size.cols);
  }

  /** The user closed the terminal: hang up the remote pty (its tmux client detaches). */
  close(): void {
    this.closedByUser = true;
    this.command?.kill('SIGHUP');
    this.command?.stdin.end();
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
    this.exitEmitter.dispose();
  }
}

function red(text: string): string {
  return `\r\n\x1b[31m${text}\x1b[0m\r\n`;
}
