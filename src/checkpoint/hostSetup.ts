// Sets a host up for the checkpoint engine: remote-helper/setup-host.sh streamed to it and run as
// root (through `sudo -n` for another user, who is then the one it sets up for). Idempotent.
import { readFileSync } from 'node:fs';
import type { Host } from '../transport/host';
import { remoteHelperFile } from '../helper/hostHelper';

/** Runs the script as root: directly, through passwordless sudo (which names the user to it
 * in SUDO_USER), or not at all, with a sentinel exit code. */
const AS_ROOT =
  'if [ "$(id -u)" -eq 0 ]; then exec sh -s -- "$@"; ' +
  'elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then exec sudo -n sh -s -- "$@"; ' +
  'else exit 96; fi';
const NO_ROOT = 96;

export interface SetupOptions {
  /** Connected as root: the user to let run CRIU in its unprivileged mode. */
  user?: string;
  /** Each `step NAME: …` line as it arrives. */
  onStep?: (step: string) => void;
}

/** The steps the host reported (criu, tmux, unprivileged), or an error of one sentence. */
export async function setUpHost(host: Host, options: SetupOptions = {}): Promise<string[]> {
  const script = readFileSync(remoteHelperFile('setup-host.sh'), 'utf8');
  const args = options.user ? ['--user', options.user] : [];
  const cmd = host.spawn(['sh', '-c', AS_ROOT, 'setup-host', ...args]);
  cmd.stdin.end(script);
  const steps: string[] = [];
  let pending = '';
  let stderr = '';
  cmd.stdout.on('data', (d: Buffer) => {
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const step = /^step (.+)$/.exec(line)?.[1];
      if (step) {
        steps.push(step);
        options.onStep?.(step);
      }
    }
  });
  cmd.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const { code, connectionLost, error } = await cmd.exited;
  if (error || connectionLost) throw new Error(`Setting up ${host.name} stopped: the connection to it ${error ? `failed (${error.message})` : 'dropped'}; run it again.`);
  if (code === NO_ROOT) {
    throw new Error(`Setting up ${host.name} needs root once: connect as root (\`procmig setup root@…\`), or allow passwordless sudo there, and run it again.`);
  }
  if (code !== 0) {
    const reason = stderr.trim().split('\n').pop()?.replace(/^setup-host: /, '') ?? `exit code ${code}`;
    throw new Error(`Setting up ${host.name} failed: ${reason}.`);
  }
  return steps;
}
