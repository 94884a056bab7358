// How the bench reaches the two lab hosts: the OpenSSH client from the root namespace, exactly as
// a user typing the commands by hand would (and independent of the product's own transport).
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export const repo = path.resolve(__dirname, '..');
export const sshConfig = path.join(repo, '.lab', 'ssh_config');
export const labKey = path.join(repo, '.lab', 'id_ed25519');
export const labKnownHosts = path.join(repo, '.lab', 'known_hosts');

export const SOURCE = 'lab-a';
export const DESTINATION = 'lab-b';
/** lab-b as lab-a reaches it (host to host, not through the root namespace). */
export const DESTINATION_ADDRESS = '10.77.0.12';
/** lab-a as lab-b reaches it (CRIU's lazy-pages daemon connects to the dump's page server). */
export const SOURCE_ADDRESS = '10.77.0.11';
export const CRIU = '/usr/local/sbin/criu';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; never throws for a non-zero exit (the caller decides). */
export function exec(file: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 0, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === -1 ? err.message : '') });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** One connection per host kept open by OpenSSH (ControlMaster), so each step after the first
 * costs a channel, not a login: how CRIU.md timed CRIU's lazy pages by hand (0.43–0.60 s). */
const KEPT_CONNECTION = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${path.join(repo, '.lab', 'bench-%C')}`, '-o', 'ControlPersist=60'];

/** How often a host refused the connection so far (other engineers' tests stop a host's sshd). */
export const reconnects = { count: 0 };

/**
 * Runs a shell script on a lab host with `ssh -F .lab/ssh_config`. When the connection itself is
 * refused (the script never ran), waits and tries again for up to two minutes.
 */
export async function ssh(host: string, script: string, options: { timeoutMs?: number; input?: string; kept?: boolean } = {}): Promise<Run> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await exec('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', ...(options.kept ? KEPT_CONNECTION : []), host, script], { timeoutMs: options.timeoutMs ?? 600_000, input: options.input });
    if (r.code !== 255 || !/Connection refused|kex_exchange_identification|Connection closed by UNKNOWN|Connection reset by peer|connect to host/.test(r.stderr) || Date.now() > deadline) {
      return r;
    }
    reconnects.count++;
    await sleep(1000);
  }
}

/** Like ssh(), but throws with the host's stderr when the script fails; returns trimmed stdout. */
export async function onHost(host: string, script: string, options: { timeoutMs?: number; input?: string; kept?: boolean } = {}): Promise<string> {
  const r = await ssh(host, script, options);
  if (r.code !== 0) throw new Error(`${host}: \`${oneLine(script)}\` exited ${r.code}: ${oneLine(r.stderr || r.stdout)}`);
  return r.stdout.trim();
}

export function oneLine(text: string, max = 300): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = now();
  const value = await work();
  return { value, ms: now() - t0 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Single-quotes a string for sh. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
