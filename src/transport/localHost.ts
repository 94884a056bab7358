// This machine as a Host: commands run directly with execa (argv, no shell), sockets on 127.0.0.1.
import { createServer, connect as netConnect } from 'node:net';
import { spawn as spawnChild } from 'node:child_process';
import type { Duplex, Readable } from 'node:stream';

// execa is ESM-only; a lazy import keeps this module loadable from CommonJS (tsx tests, the CLI).
const loadExeca = () => import('execa').then((m) => m.execa);
import { TransportError, type ExecOptions, type ExecResult, type Host, type HostOptions, type Listener, type ListenOptions, type RunningCommand, type SpawnOptions } from './host';

export class LocalHost implements Host {
  readonly name = 'local';
  readonly isLocal = true;

  constructor(private readonly options: HostOptions = {}) {}

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = checkArgv(argv);
    this.options.log?.(`local: exec ${argv.join(' ')}`);
    const input = options.stdin;
    const execa = await loadExeca();
    const result = await execa(file, args, {
      reject: false,
      stripFinalNewline: false,
      ...(typeof input === 'string' || Buffer.isBuffer(input) ? { input } : input ? { stdin: input as Readable } : { stdin: 'ignore' as const }),
      cancelSignal: options.signal,
      encoding: 'utf8',
    });
    // execa reports "could not run" (ENOENT, EACCES) as a failed result without an exit code.
    if (result.exitCode === undefined && !result.signal && !result.isCanceled) {
      throw new TransportError(`Cannot run ${file} here: ${result.cause instanceof Error ? result.cause.message : result.shortMessage}.`, 'config', { cause: result.cause });
    }
    return { code: result.exitCode ?? null, signal: result.signal ?? null, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  }

  spawn(argv: readonly string[], _options: SpawnOptions = {}): RunningCommand {
    const [file, ...args] = checkArgv(argv);
    this.options.log?.(`local: spawn ${argv.join(' ')}`);
    // node's spawn, not execa: spawn() must return synchronously and execa loads asynchronously.
    const child = spawnChild(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdin, stdout, stderr } = child;
    // A closed stdin on an exited child must not crash the process with EPIPE.
    stdin.on('error', () => {});
    const exited = new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
      child.once('error', (error) => {
        stdout.destroy();
        stderr.destroy();
        resolve({ code: null, signal: null, error });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    return {
      stdin,
      stdout,
      stderr,
      exited,
      kill: (signal = 'SIGTERM') => {
        child.kill(signal);
      },
    };
  }

  async listen(onConnection: (socket: Duplex) => void, options: ListenOptions = {}): Promise<Listener> {
    const server = createServer((socket) => onConnection(socket));
    const where = options.path ?? `127.0.0.1:${options.port ?? 0}`;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new TransportError(`Cannot listen on ${where} on this machine: ${err.message}.`, 'config', { cause: err })));
      if (options.path !== undefined) server.listen(options.path, () => resolve());
      else server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return {
      port,
      // Stops accepting; connections already handed out stay open, as with an ssh forward.
      close: async () => {
        if (server.listening) server.close();
      },
    };
  }

  connect(target: number | string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = typeof target === 'number' ? netConnect({ host: '127.0.0.1', port: target }) : netConnect({ path: target });
      const where = typeof target === 'number' ? `127.0.0.1:${target}` : target;
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', (err) => reject(new TransportError(`Cannot connect to ${where} on this machine: ${err.message}.`, 'unreachable', { cause: err })));
    });
  }

  async close(): Promise<void> {
    // Commands started here belong to their callers; closing the host does not kill them.
  }
}

export function checkArgv(argv: readonly string[]): [string, ...string[]] {
  if (!argv.length || !argv[0]) throw new TransportError('Cannot run an empty command.', 'config');
  return argv as [string, ...string[]];
}
