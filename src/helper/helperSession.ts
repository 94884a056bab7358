// The client of the helper's `serve` (remote-helper/parts/97-serve.sh): one long-lived channel
// per host that runs the helper's short commands, concurrently, each a line out and a framed
// reply back. An SSH exec costs a channel, a login shell and the helper parsed again, about
// 40 ms on the lab; a request costs the round trip.
import { commandLine } from '../transport/sshHost';
import type { ExecResult, RunningCommand } from '../transport/host';

/** Base64 per `in` line: short enough for the helper's `read`, long enough to be few. */
const STDIN_CHUNK = 48 * 1024;

interface Pending {
  resolve(result: ExecResult): void;
}

/** What came of starting the session: it serves, the helper is not installed, or it cannot serve. */
export type SessionStart = { session: HelperSession } | { missing: true } | { failed: string };

export class HelperSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private ended?: { connectionLost: boolean };

  private constructor(
    private readonly command: RunningCommand,
    replies: ReplyReader,
  ) {
    replies.onReply = (id, result) => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      waiting?.resolve(result);
    };
    void command.exited.then((exit) => {
      this.ended = { connectionLost: !!exit.connectionLost };
      const left = [...this.pending.values()];
      this.pending.clear();
      for (const p of left) p.resolve(this.endedResult());
    });
  }

  /** Starts `serve` with `spawn` and waits for its `ready` line. `missingSentinel` is what the
   * launcher prints when the helper is not on the host. */
  static async start(command: RunningCommand, missingSentinel: string): Promise<SessionStart> {
    const replies = new ReplyReader();
    let stderr = '';
    command.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const first = await new Promise<string | undefined>((resolve) => {
      replies.onGreeting = resolve;
      command.stdout.on('data', (d: Buffer) => replies.push(d));
      void command.exited.then(() => resolve(undefined));
    });
    if (first?.startsWith('ready ')) return { session: new HelperSession(command, replies) };
    command.kill('SIGTERM');
    command.stdin.end();
    if (first === missingSentinel) return { missing: true };
    return { failed: stderr.trim().split('\n').pop() || first || 'the helper session ended at once' };
  }

  /** False once the channel ended: the next command needs a new session. */
  get alive(): boolean {
    return !this.ended;
  }

  exec(args: readonly string[], stdin?: string | Buffer): Promise<ExecResult> {
    if (this.ended) return Promise.resolve(this.endedResult());
    const id = this.nextId++;
    let lines = '';
    if (stdin !== undefined && stdin.length) {
      const encoded = Buffer.from(stdin).toString('base64');
      for (let i = 0; i < encoded.length; i += STDIN_CHUNK) lines += `in ${id} ${encoded.slice(i, i + STDIN_CHUNK)}\n`;
    }
    lines += `run ${id} ${commandLine(args)}\n`;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.command.stdin.write(lines);
    });
  }

  /** Ends the session; commands still running on the host finish there. */
  close(): void {
    this.command.stdin.end();
  }

  private endedResult(): ExecResult {
    return { code: null, connectionLost: this.ended?.connectionLost, stdout: '', stderr: 'the helper session ended' };
  }

  /** Whether `serve` can carry this command line: its words travel on one line. */
  static carries(args: readonly string[]): boolean {
    return args.every((a) => !a.includes('\n') && !a.includes('\r'));
  }
}

/** Splits `serve`'s stdout into its greeting and framed replies (`reply ID CODE OUT ERR`, then
 * OUT + ERR bytes). Exported for its unit test. */
export class ReplyReader {
  onGreeting?: (line: string) => void;
  onReply?: (id: number, result: ExecResult) => void;
  private buffer: Buffer = Buffer.alloc(0);
  private frame?: { id: number; code: number; out: number; err: number };
  private greeted = false;

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (!this.frame) {
        const nl = this.buffer.indexOf(0x0a);
        if (nl < 0) return;
        const line = this.buffer.subarray(0, nl).toString('utf8');
        this.buffer = this.buffer.subarray(nl + 1);
        if (!this.greeted) {
          this.greeted = true;
          this.onGreeting?.(line);
          continue;
        }
        const m = /^reply (\d+) (\d+) (\d+) (\d+)$/.exec(line);
        if (!m) continue; // not ours: a shell's stray output would have no frame
        this.frame = { id: Number(m[1]), code: Number(m[2]), out: Number(m[3]), err: Number(m[4]) };
      }
      const { id, code, out, err } = this.frame;
      if (this.buffer.length < out + err) return;
      const stdout = this.buffer.subarray(0, out).toString('utf8');
      const stderr = this.buffer.subarray(out, out + err).toString('utf8');
      this.buffer = this.buffer.subarray(out + err);
      this.frame = undefined;
      this.onReply?.(id, { code, stdout, stderr });
    }
  }
}
