// "Start a service and wait for its ready line": helper commands that run on (CRIU's page
// server, lazy dump and lazy-pages; the one-time sshd and the ssh tunnel of a direct transfer)
// print `WORD [PORT] PID` once they serve. Stopping one signals that PID through the helper too:
// ending the SSH channel alone can leave it running on the host.
import type { RunningCommand } from '../transport/host';
import type { HostHelper } from './hostHelper';

export interface HelperService {
  cmd: RunningCommand;
  /** The TCP port of the ready line (the one-time sshd), else 0. */
  readonly port: number;
  stdout(): string;
  /** Settles when it ends: rejects with `failure` if it failed before `stop()`. */
  done: Promise<void>;
  /** Writes `input` to its stdin and waits for its next `WORD PID` line. */
  next(word: string, input: string): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Starts helper command `args` and resolves once it printed `WORD [PORT] PID`; rejects with
 * `failure(stderr, error)` if it ends first. */
export async function startService(
  helper: HostHelper,
  args: string[],
  word: string,
  failure: (stderr: string, error?: Error) => Error,
): Promise<HelperService> {
  await helper.ensureInstalled();
  const cmd = helper.spawn(args);
  let stdout = '';
  let stderr = '';
  cmd.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  cmd.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const line = (w: string) =>
    new Promise<{ port: number; pid: number }>((resolve, reject) => {
      const look = () => {
        const m = new RegExp(`^${w} (?:(\\d+) )?(\\d+)$`, 'm').exec(stdout);
        if (m) {
          cmd.stdout.off('data', look);
          resolve({ port: Number(m[1] ?? 0), pid: Number(m[2]) });
        }
      };
      cmd.stdout.on('data', look);
      look();
      void cmd.exited.then(({ error }) => reject(failure(stderr, error)));
    });
  const ready = await line(word);
  let servicePid = ready.pid;
  let stopped = false;
  const done = cmd.exited.then(({ code }) => {
    if (code !== 0 && !stopped) throw failure(stderr);
  });
  done.catch(() => undefined); // observed by whoever awaits `done`
  return {
    cmd,
    port: ready.port,
    stdout: () => stdout,
    done,
    next: async (w, input) => {
      cmd.stdin.write(input);
      servicePid = (await line(w)).pid;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      cmd.kill('SIGTERM');
      await helper.exec(['signal', 'TERM', String(servicePid)]).catch(() => undefined);
    },
  };
}
