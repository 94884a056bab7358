// Shared by the tests that run inside the extension host.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { ProcessMigratorApi } from '../../../src/extension';
import { EXTENSION_ID } from '../../../src/ui/common/contributions';
import { statFields } from '../procStat';

export async function activeApi(): Promise<ProcessMigratorApi> {
  const ext = vscode.extensions.getExtension<ProcessMigratorApi>(EXTENSION_ID);
  if (!ext) throw new Error(`Extension ${EXTENSION_ID} is not installed.`);
  return ext.activate();
}

/** A `sleep` under a recognisable name (the process's comm is the file name). */
export function spawnMarker(name = 'pmtest-sleep'): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'pm-marker-'));
  const file = join(dir, name);
  copyFileSync('/bin/sleep', file);
  const child = spawn(file, ['600'], { stdio: 'ignore', detached: true });
  child.unref();
  return child;
}

/** Whether the process still runs: a zombie (killed, its parent not yet told) does not. */
export function alive(pid: number): boolean {
  try {
    return statFields(pid)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs a shell command on a lab host (PM_LAB_SSH_CONFIG) and returns its output, trimmed. Async with
 * a time limit: a blocking call would freeze the extension host. */
export async function labSsh(host: string, command: string): Promise<string> {
  const config = process.env.PM_LAB_SSH_CONFIG;
  if (!config) throw new Error('PM_LAB_SSH_CONFIG is not set: these tests need the lab.');
  return (await promisify(execFile)('ssh', ['-F', config, '-o', 'BatchMode=yes', host, command], { timeout: 30_000 })).stdout.trim();
}

/** Whether `pid` runs on the lab host `host`. */
export async function runsOn(host: string, pid: number): Promise<boolean> {
  return (await labSsh(host, `kill -0 ${pid} 2>/dev/null && echo yes || echo no`)) === 'yes';
}

/**
 * A directory at the same path here and on both lab hosts, for programs a test migrates: CRIU
 * needs a program's files at the same paths on the destination, and the lab hosts share this
 * machine's files except /tmp, /var/tmp and ~/.cache (so not a checkout under /tmp either).
 */
export function labSharedDir(name: string): string {
  const dir = join('/var/lib/process-migrator-test', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Node.js 24 at a path both lab hosts see (scripts/install-node24.sh, as `node24()` of the e2e
 * support): throws, failing the test, when it cannot be installed. */
export function node24(): string {
  // The suite runs bundled from <repo>/dist/test/vscode/suite.
  const repo = resolve(__dirname, '..', '..', '..', '..');
  const out = execFileSync('sh', [join(repo, 'scripts', 'install-node24.sh'), labSharedDir('node24')], { encoding: 'utf8', timeout: 300_000 });
  return out.trim().split('\n').pop()!;
}

/** What `pid`'s descriptors are, by readlink (`anon_inode:[io_uring]`, `socket:[…]`, paths). */
export function descriptorsOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}

/** The `Seccomp:` mode of `pid` (0 none, 2 a filter). */
export function seccompModeOf(pid: number): number {
  return Number(/^Seccomp:\s*(\d)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}
