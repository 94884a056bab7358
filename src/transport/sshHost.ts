// A machine reached over one ssh2 connection. The connection is opened lazily and reopened by the
// next call after it drops, so a Host object stays usable; commands running when it drops end with
// code null and `connectionLost`.
import { PassThrough, Transform, type Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { TransportError, type ExecOptions, type ExecResult, type Host, type HostOptions, type Listener, type ListenOptions, type RunningCommand, type SpawnOptions } from './host';
import { checkArgv } from './localHost';
import { openClient } from './sshConnect';
import { resolveHost, type ResolvedHost } from './sshConfig';

/** What a command reports when it ended because the SSH connection went away. */
export interface SshExit {
  code: number | null;
  signal?: string | null;
  /** The connection dropped before the command reported its exit. */
  connectionLost?: boolean;
}

interface Connection {
  client: Client;
  resolved: ResolvedHost;
  alive: boolean;
  /** Remote-forward handlers by the port the server bound, or the unix socket's path. */
  forwards: Map<number | string, (socket: Duplex) => void>;
  dispose(): void;
}

/** Quotes one argument for a POSIX shell: the remote runs our command line through its login shell. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  return checkArgv(argv).map(shellQuote).join(' ');
}

export class SshHost implements Host {
  readonly isLocal = false;
  private pending?: Promise<Connection>;
  private resolved?: ResolvedHost;
  private closed = false;
  private readonly disconnectListeners = new Set<(error?: Error) => void>();
  private readonly connectListeners = new Set<() => void>();

  constructor(readonly name: string, private readonly options: HostOptions = {}) {}

  /** Connects now, so that configuration, host key and auth errors surface at once. */
  static async connect(name: string, options: HostOptions = {}): Promise<SshHost> {
    const host = new SshHost(name, options);
    await host.connection();
    return host;
  }

  /** Called when an open connection drops (not when `close()` is called). */
  onDisconnect(listener: (error?: Error) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  /** Called each time a connection opens: the first, and each one reopened after a drop. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  get address(): string | undefined {
    return this.resolved?.hostName;
  }

  /** True once `close()` was called: the object will not reconnect. */
  get isClosed(): boolean {
    return this.closed;
  }

  log(line: string): void {
    this.options.log?.(`ssh ${this.name}: ${line}`);
  }

  /** Opens the connection if it is not open (after a drop, say); errors as TransportError. */
  async ensureConnected(): Promise<void> {
    await this.connection();
  }

  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new TransportError(`The connection to ${this.name} was closed.`, 'connection-lost'));
    this.pending ??= this.open().catch((err) => {
      this.pending = undefined;
      throw err;
    });
    return this.pending;
  }

  private async open(): Promise<Connection> {
    const resolved = await resolveHost(this.name, { sshConfigFile: this.options.sshConfigFile });
    this.resolved = resolved;
    const { client, dispose } = await openClient(resolved, this.options);
    const conn: Connection = { client, resolved, alive: true, forwards: new Map(), dispose };
    let lastError: Error | undefined;
    client.on('tcp connection', (info, accept, reject) => {
      const handler = conn.forwards.get(info.destPort);
      if (!handler) return reject();
      handler(accept());
    });
    client.on('unix connection', (info, accept, reject) => {
      const handler = conn.forwards.get(info.socketPath);
      if (!handler) return reject();
      handler(accept());
    });
    client.on('error', (err) => {
      lastError = err;
      this.log(`connection error: ${err.message}`);
    });
    const lost = () => {
      if (!conn.alive) return;
      conn.alive = false;
      conn.forwards.clear();
      dispose();
      if (this.pending && !this.closed) {
        this.pending = undefined;
        this.log('connection lost');
        for (const l of this.disconnectListeners) l(lastError);
      }
    };
    // 'end' comes before ssh2 fails the open channels, so they can tell a lost connection.
    client.on('end', lost);
    client.on('close', lost);
    for (const l of this.connectListeners) l();
    return conn;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const cmd = this.spawn(argv);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    cmd.stdout.on('data', (d: Buffer) => stdout.push(d));
    cmd.stderr.on('data', (d: Buffer) => stderr.push(d));
    const onAbort = () => cmd.kill('SIGTERM');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const input = options.stdin;
    if (input === undefined) cmd.stdin.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) cmd.stdin.end(input);
    else input.pipe(cmd.stdin);
    const { error, ...exit } = await cmd.exited;
    options.signal?.removeEventListener('abort', onAbort);
    if (error) throw error; // could not run at all
    return {
      ...exit,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
    };
  }

  spawn(argv: readonly string[], options: SpawnOptions = {}): RunningCommand {
    const line = commandLine(argv);
    // The command reports its PID on the first line (then `exec`s, keeping that PID), because sshd
    // ignores signal requests for root sessions: kill() falls back to `kill PID` on a second channel.
    const wrapped = `printf '${PID_MARKER}%s\\n' "$$" >&2; exec ${line}`;
    let pid: number | undefined;
    const pidLine = pidLineSplitter((found) => {
      pid = found;
    });
    const stdin = new PassThrough();
    const stdout = options.pty ? pidLine : new PassThrough(); // a pty merges stderr into stdout
    const stderr = options.pty ? new PassThrough() : pidLine;
    let conn: Connection | undefined;
    let channel: ClientChannel | undefined;
    let size: [number, number] | undefined;
    const kill = (signal: NodeJS.Signals) => {
      if (!channel || !conn) return;
      stop(channel, signal);
      if (pid && conn.alive) {
        conn.client.exec(`kill -s ${signal.replace(/^SIG/, '')} ${pid} 2>/dev/null`, (err, ch) => {
          if (!err) ch.on('error', () => {}).resume().stderr.resume();
        });
      }
    };
    const exited = (async (): Promise<SshExit & { error?: Error }> => {
      try {
        conn = await this.connection();
        this.log(`spawn ${line}${options.pty ? ' (pty)' : ''}`);
        channel = await openExec(conn, wrapped, options.pty, this.name);
        channel.on('error', () => {}); // writes after the remote closed; the exit status tells the story
        if (size) channel.setWindow(size[0], size[1], 0, 0);
        stdin.pipe(channel);
        channel.pipe(stdout);
        channel.stderr.pipe(stderr);
        return await channelExit(conn, channel);
      } catch (err) {
        this.log(`spawn failed: ${(err as Error).message}`);
        stdout.end();
        stderr.end();
        return { code: null, signal: null, error: err as Error };
      }
    })();
    return {
      stdin,
      stdout,
      stderr,
      exited,
      kill: (signal = 'SIGTERM') => {
        // Before the PID line arrives, wait for it so the fallback can reach the process.
        if (pid !== undefined) kill(signal);
        else pidLine.once('pid', () => kill(signal));
      },
      resize: options.pty
        ? (rows, cols) => {
            size = [rows, cols];
            channel?.setWindow(rows, cols, 0, 0);
          }
        : undefined,
    };
  }

  async listen(onConnection: (socket: Duplex) => void, options: ListenOptions = {}): Promise<Listener> {
    if (options.path !== undefined) return this.listenAt(options.path, onConnection);
    const conn = await this.connection();
    const wanted = options.port ?? 0;
    const port = await new Promise<number>((resolve, reject) =>
      conn.client.forwardIn('127.0.0.1', wanted, (err, bound) =>
        err
          ? reject(
              new TransportError(
                wanted
                  ? `Cannot listen on 127.0.0.1:${wanted} on ${this.name}: ${err.message} (the port may be in use there, or AllowTcpForwarding is off in its sshd_config).`
                  : `Cannot listen on 127.0.0.1 on ${this.name}: ${err.message}; check AllowTcpForwarding in its sshd_config.`,
                'config',
                { cause: err },
              ),
            )
          : resolve(bound || wanted),
      ),
    );
    conn.forwards.set(port, onConnection);
    this.log(`listening on remote 127.0.0.1:${port}`);
    let open = true;
    return {
      port,
      close: async () => {
        if (!open) return;
        open = false;
        conn.forwards.delete(port);
        if (!conn.alive) return;
        await new Promise<void>((resolve) => conn.client.unforwardIn('127.0.0.1', port, () => resolve()));
      },
    };
  }

  /** A unix socket at `path`, bound by the host's sshd as our user (streamlocal forwarding). */
  private async listenAt(path: string, onConnection: (socket: Duplex) => void): Promise<Listener> {
    const conn = await this.connection();
    await new Promise<void>((resolve, reject) =>
      conn.client.openssh_forwardInStreamLocal(path, (err) =>
        err
          ? reject(new TransportError(`Cannot listen at ${path} on ${this.name}: ${err.message}; check AllowStreamLocalForwarding in its sshd_config.`, 'config', { cause: err }))
          : resolve(),
      ),
    );
    conn.forwards.set(path, onConnection);
    this.log(`listening on remote ${path}`);
    let open = true;
    return {
      port: 0,
      close: async () => {
        if (!open) return;
        open = false;
        conn.forwards.delete(path);
        if (!conn.alive) return;
        await new Promise<void>((resolve) => conn.client.openssh_unforwardInStreamLocal(path, () => resolve()));
      },
    };
  }

  async connect(target: number | string): Promise<Duplex> {
    const conn = await this.connection();
    const where = typeof target === 'number' ? `127.0.0.1:${target}` : target;
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, stream: Duplex) =>
        err ? reject(new TransportError(`Cannot connect to ${where} on ${this.name}: ${err.message}.`, 'unreachable', { cause: err })) : resolve(stream);
      if (typeof target === 'number') conn.client.forwardOut('127.0.0.1', 0, '127.0.0.1', target, done);
      else conn.client.openssh_forwardOutStreamLocal(target, done);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = this.pending;
    this.pending = undefined;
    const conn = await pending?.catch(() => undefined);
    if (!conn || !conn.alive) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      conn.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      conn.client.end();
    });
    conn.dispose();
  }
}

function openExec(conn: Connection, line: string, pty: SpawnOptions['pty'], name: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const opts = pty ? { pty: { rows: pty.rows, cols: pty.cols, term: pty.term ?? 'xterm-256color' } } : {};
    conn.client.exec(line, opts, (err, channel) =>
      err
        ? reject(
            new TransportError(
              conn.alive ? `Cannot run a command on ${name}: ${err.message}.` : `Lost the connection to ${name} while starting a command.`,
              conn.alive ? 'config' : 'connection-lost',
              { cause: err },
            ),
          )
        : resolve(channel),
    );
  });
}

/** Settles when the channel closes, with the exit status, or `connectionLost` if none came.
 * From 'close', which ssh2 gives the status it recorded: its 'exit' event may have fired already,
 * when the exec reply, the output and the status came in one read (a quick command, or several
 * sessions at once), before the awaited channel reached us. */
function channelExit(conn: Connection, channel: ClientChannel): Promise<SshExit> {
  return new Promise((resolve) => {
    channel.on('close', (code?: number | null, signal?: string) => {
      if (typeof code === 'number') resolve({ code, signal: null });
      else if (signal) resolve({ code: null, signal: signal.startsWith('SIG') ? signal : `SIG${signal}` });
      else resolve({ code: null, signal: null, connectionLost: !conn.alive || undefined });
    });
  });
}

/** Best effort: OpenSSH ≥ 7.9 honours the signal request (not for root); if the command is still
 * there after a grace period, closing the channel at least hangs up a pty. */
function stop(channel: ClientChannel, signal: NodeJS.Signals): void {
  try {
    channel.signal(signal.replace(/^SIG/, ''));
  } catch {
    // not all servers accept it
  }
  setTimeout(() => channel.close(), 3000).unref();
}

const PID_MARKER = '__procmig_pid=';

/** Passes a stream through minus the PID marker line, which it hands to `onPid` (and emits as
 * 'pid'). Lines before it (login-shell noise) pass through; the search ends at the marker. */
function pidLineSplitter(onPid: (pid: number | undefined) => void): Transform {
  let pending: Buffer | undefined = Buffer.alloc(0);
  const marker = Buffer.from(PID_MARKER);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!pending) return cb(null, chunk);
      const buf = Buffer.concat([pending, chunk]);
      const at = buf.indexOf(marker);
      const nl = at < 0 ? -1 : buf.indexOf(10, at);
      if (nl < 0) {
        pending = buf;
        return cb();
      }
      pending = undefined;
      onPid(Number(buf.subarray(at + marker.length, nl).toString('latin1').trim()) || undefined);
      this.emit('pid');
      cb(null, Buffer.concat([buf.subarray(0, at), buf.subarray(nl + 1)]));
    },
    flush(cb) {
      cb(null, pending?.length ? pending : undefined);
    },
  });
}

export type { ResolvedHost };
