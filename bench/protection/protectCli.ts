// `procmig protect PID --from lab-a --standby lab-b --every S --failover auto --lost-after L --json`
// as a script runs it: one JSON line per event, read as they come.
import { spawn, type ChildProcess } from 'node:child_process';
import { DESTINATION, SOURCE, oneLine, sleep, sshConfig } from '../lab';

export interface ProtectEvent {
  event: 'checkpoint' | 'lost' | 'failover' | 'returned' | 'ended';
  ok?: boolean;
  at: string;
  [field: string]: unknown;
}

export class ProtectCli {
  readonly events: ProtectEvent[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private stderr = '';
  private code: number | null | undefined;

  constructor(cli: string, pid: number, options: { everyS: number; lostAfterS: number }) {
    const args = ['--ssh-config', sshConfig, 'protect', String(pid), '--from', SOURCE, '--standby', DESTINATION];
    args.push('--every', String(options.everyS), '--failover', 'auto', '--lost-after', String(options.lostAfterS), '--json');
    this.child = spawn('node', [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl; (nl = buffered.indexOf('\n')) >= 0; buffered = buffered.slice(nl + 1)) {
        const line = buffered.slice(0, nl).trim();
        try {
          if (line) this.events.push(JSON.parse(line));
        } catch {
          this.stderr += `${line}\n`;
        }
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve((this.code = code))));
  }

  /** The first `event` at index `after` or later, with its index. Rejects after `timeoutMs`, or
   * when procmig exits without it. */
  async next(event: ProtectEvent['event'], after: number, timeoutMs: number): Promise<{ event: ProtectEvent; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((e, i) => i >= after && e.event === event);
      if (index >= 0) return { event: this.events[index], index };
      if (this.code !== undefined || Date.now() > deadline) {
        const why = this.code !== undefined ? `procmig protect exited ${this.code}` : `none within ${Math.round(timeoutMs / 1000)} s`;
        throw new Error(`no ${event} event (${why}); events: ${oneLine(JSON.stringify(this.events.slice(after)), 600)}; stderr: ${oneLine(this.stderr, 600)}`);
      }
      await sleep(50);
    }
  }

  /** Ctrl-C (protection ends, the standby's checkpoints are deleted); SIGKILL if it hangs. */
  async stop(): Promise<number | null> {
    if (this.code !== undefined) return this.code;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
