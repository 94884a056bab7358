// Fakes of the transport layer (src/transport/host.ts) for the layers above it: hosts that run
// nothing and answer the remote helper's commands as a test tells them.
import { Duplex, PassThrough } from 'node:stream';
import type { ExecOptions, ExecResult, Host, ListenOptions, RunningCommand } from '../../../src/transport/host';

/** A spawned helper command as the test sees it: what it was told, and its ends to drive. */
export interface FakeCommand {
  readonly args: string[];
  readonly stdin: PassThrough;
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  /** Everything written to its stdin so far. */
  told(): string;
  /** Ends the command with `code` (or as a dropped connection ends it). */
  end(code: number, connectionLost?: boolean): void;
  killedWith?: string;
}

/** A host whose helper answers from a script; every helper command is recorded. By default:
 * `mkimages` makes `img.<name>`, `state`/`verify` say `state`, `pre-dump` prints CRIU's counts,
 * `guard` and `tar-in` end with their stdin, `page-server` listens; `answers` and `programs`
 * replace those for a command. */
export class FakeHost implements Host {
  isLocal = true;
  address?: string;
  readonly commands: string[][] = [];
  readonly spawned: FakeCommand[] = [];
  readonly listeners: { options?: ListenOptions; onConnection: (socket: Duplex) => void; closed: boolean }[] = [];
  state = 'running';
  /** `exec` answers by helper command: its stdout, or a whole result. */
  readonly answers = new Map<string, (args: string[]) => string | ExecResult>();
  /** How spawned helper commands behave, by helper command. */
  readonly programs = new Map<string, (command: FakeCommand) => void>();
  constructor(readonly name: string) {}

  private helperArgs(argv: readonly string[]): string[] {
    return argv.slice(argv.indexOf('procmig-helper') + 1);
  }

  async exec(argv: readonly string[]): Promise<ExecResult> {
    const args = this.helperArgs(argv);
    this.commands.push(args);
    const out = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
    const answer = this.answers.get(args[0]);
    if (answer) {
      const a = answer(args);
      return typeof a === 'string' ? out(a) : a;
    }
    switch (args[0]) {
      case 'mkimages':
        return out(`dir=/var/tmp/process-migrator/img.${this.name}\n`);
      case 'state':
      case 'verify':
        return out(`${this.state}\n`);
      case 'pre-dump':
        return out('pages_scanned=300\npages_skipped=10\npages_written=120\nfrozen_us=900\npage_size=4096\n');
      default:
        return out('');
    }
  }

  spawn(argv: readonly string[]): RunningCommand {
    const args = this.helperArgs(argv);
    this.commands.push(args);
    const [stdin, stdout, stderr] = [new PassThrough(), new PassThrough(), new PassThrough()];
    let end!: (code: number, connectionLost?: boolean) => void;
    const exited = new Promise<{ code: number | null; connectionLost?: boolean }>(
      (resolve) => (end = (code, connectionLost) => resolve(connectionLost ? { code, connectionLost } : { code })),
    );
    let told = '';
    stdin.on('data', (d: Buffer) => (told += d.toString()));
    const command: FakeCommand = { args, stdin, stdout, stderr, told: () => told, end: (code, lost) => end(code, lost) };
    this.spawned.push(command);
    const program = this.programs.get(args[0]);
    if (program) {
      program(command);
    } else if (args[0] === 'guard' || args[0] === 'tar-in') {
      stdin.on('finish', () => end(0));
    } else if (args[0] === 'page-server') {
      setImmediate(() => {
        stdout.write('listening 77\n');
        setTimeout(() => { stdout.end(); end(0); }, 5);
      });
    } else {
      stdout.end();
      setImmediate(() => end(0));
    }
    return {
      stdin, stdout, stderr, exited,
      kill: (signal = 'SIGTERM') => {
        command.killedWith = signal;
        end(143);
      },
    };
  }

  async listen(onConnection: (socket: Duplex) => void, options?: ListenOptions) {
    const listener = { options, onConnection, closed: false };
    this.listeners.push(listener);
    return { port: 50000, close: async () => void (listener.closed = true) };
  }
  /** Connections made to the host, each with the end the host's side of it holds. */
  readonly connections: { target: number | string; far: Duplex }[] = [];
  async connect(target: number | string): Promise<Duplex> {
    const [near, far] = socketPair();
    this.connections.push({ target, far });
    return near;
  }
  async close() {}

  /** The helper commands named `name`, each as its arguments. */
  ran(name: string): string[][] {
    return this.commands.filter((c) => c[0] === name);
  }
}

/** Two connected ends: what is written to one is read from the other. */
export function socketPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, done) {
        other().push(chunk);
        done();
      },
      final(done) {
        other().push(null);
        done();
      },
    });
  ends.push(end(() => ends[1]), end(() => ends[0]));
  return [ends[0], ends[1]];
}

/** A host that runs nothing: it records what it was asked and answers as told. */
export class AnsweringHost implements Partial<Host> {
  readonly name = 'fake';
  readonly isLocal = false;
  readonly calls: { argv: readonly string[]; stdin?: unknown }[] = [];
  constructor(private readonly answer: (argv: readonly string[]) => ExecResult) {}
  async exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    this.calls.push({ argv, stdin: options?.stdin });
    return this.answer(argv);
  }
}
