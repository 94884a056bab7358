// The client end of the helper's `serve` (remote-helper/parts/97-serve.sh): one long-lived
// channel that runs helper commands one after another, so that a short step costs a round trip
// instead of a new SSH channel, `sh` and the helper each time. Framing by byte counts, so any
// bytes pass both ways.
import type { ExecResult, RunningCommand } from '../transport/host';

const READY = 'procmig-serve 1';

/** How a session ended: as its channel reported (code, signal, connectionLost). */
export type SessionEnd = Omit<ExecResult, 'stdout' | 'stderr'>;

export class HelperSession {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake?: () => void;
  private queue: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  /** Settles with the first line, `missing` (the launcher's sentinel), or how the channel ended. */
  readonly started: Promise<'ready' | 'missing' | SessionEnd>;

  constructor(
    private readonly command: RunningCommand,
    missingSentinel: string,
  ) {
    command.stdout.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    command.stdout.on('end', end);
    command.stdout.on('close', end);
    command.stderr.resume(); // nothing is written there outside a request
    command.stdin.on('error', () => {}); // a write after the channel closed: the read side tells
    void command.exited.then(end);
    this.started = this.line().then(async (first) => {
      if (first === READY) return 'ready';
      if (first?.startsWith(missingSentinel)) return 'missing';
      return this.end();
    });
  }

  /** False once the channel ended: the next command needs a new session. */
  get alive(): boolean {
    return !this.ended;
  }

  /** Requests queued or running. */
  get load(): number {
    return this.inFlight;
  }

  /** Runs one helper command; resolves with its result, or with how the session ended when it
   * died before answering (`died`). Requests on one session run in turn. */
  request(args: readonly string[], stdin?: string | Buffer): Promise<ExecResult | { died: SessionEnd }> {
    this.inFlight++;
    const run = this.queue.then(() => this.exchange(args, stdin));
    this.queue = run.catch(() => {});
    return run.finally(() => this.inFlight--);
  }

  /** Ends the session: the helper leaves its loop at end of input. */
  close(): void {
    this.command.stdin.end();
  }

  private async exchange(args: readonly string[], stdin?: string | Buffer): Promise<ExecResult | { died: SessionEnd }> {
    if (this.ended) return { died: await this.end() };
    const input = stdin === undefined ? Buffer.alloc(0) : Buffer.from(stdin);
    const parts: Buffer[] = [Buffer.from(`${args.length} ${input.length}\n`)];
    for (const arg of args) {
      const bytes = Buffer.from(arg);
      parts.push(Buffer.from(`${bytes.length}\n`), bytes);
    }
    parts.push(input);
    this.command.stdin.write(Buffer.concat(parts));
    const head = (await this.line())?.split(' ').map(Number);
    if (!head || head.length !== 3 || head.some((n) => !Number.isInteger(n) || n < 0)) return { died: await this.end() };
    const [code, outLength, errLength] = head as [number, number, number];
    const stdout = await this.bytes(outLength);
    const stderr = stdout && (await this.bytes(errLength));
    if (!stdout || !stderr) return { died: await this.end() };
    return { code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
  }

  /** How the channel ended (it is closed first, if it still runs, as after a garbled answer). */
  private async end(): Promise<SessionEnd> {
    this.ended = true;
    this.command.stdin.end();
    const exit = await this.command.exited;
    return { code: null, signal: exit.signal ?? null, ...(exit.connectionLost ? { connectionLost: true } : {}) };
  }

  private async line(): Promise<string | undefined> {
    for (;;) {
      const nl = this.buffer.indexOf(10);
      if (nl >= 0) {
        const text = this.buffer.subarray(0, nl).toString('utf8');
        this.buffer = this.buffer.subarray(nl + 1);
        return text;
      }
      if (this.ended) return undefined;
      await this.more();
    }
  }

  private async bytes(count: number): Promise<Buffer | undefined> {
    while (this.buffer.length < count) {
      if (this.ended) return undefined;
      await this.more();
    }
    const out = this.buffer.subarray(0, count);
    this.buffer = this.buffer.subarray(count);
    return out;
  }

  private more(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }
}
