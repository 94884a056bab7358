// A process traced with ptrace (gdb, strace, a native debugger) cannot be checkpointed: CRIU needs
// to be its tracer itself. Before migrating, say who traces it and offer to stop the tracer: when
// a tracer dies the kernel detaches its tracees and they run on. Migrate Process asks from the
// engine's preflight (`onTraced`, any host); Migrate Debug Session asks here first (this machine).
import { readdir, readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { TracedProcess } from '../migration/api';

export interface Tracer {
  /** The traced thread's process. */
  pid: number;
  tracerPid: number;
  /** The tracer's short name (`gdb`, `strace`). */
  tracerName: string;
}

export const STOP_TRACER = 'Stop Tracer and Migrate';

async function status(pid: number | string, task?: string): Promise<string | undefined> {
  const path = task ? `/proc/${pid}/task/${task}/status` : `/proc/${pid}/status`;
  return readFile(path, 'utf8').catch(() => undefined);
}

function field(text: string | undefined, name: string): string | undefined {
  return text && new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
}

/** Who traces local process `pid` (any of its threads), if anyone. */
export async function findTracer(pid: number): Promise<Tracer | undefined> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [String(pid)]);
  for (const task of tasks) {
    const tracerPid = Number(field(await status(pid, task), 'TracerPid') ?? 0);
    if (tracerPid) return { pid, tracerPid, tracerName: field(await status(tracerPid), 'Name') ?? 'a debugger' };
  }
  return undefined;
}

/** Stops the tracer (SIGKILL: it cannot react, so it cannot take its tracees with it), waits until
 * the kernel has detached `pid`, and continues it if it was left stopped. */
export async function stopTracer(tracer: Tracer, timeoutMs = 5_000): Promise<void> {
  try {
    process.kill(tracer.tracerPid, 'SIGKILL');
  } catch (err) {
    throw new Error(`Cannot stop ${tracer.tracerName} (PID ${tracer.tracerPid}): ${(err as Error).message}.`);
  }
  const deadline = Date.now() + timeoutMs;
  while (await findTracer(tracer.pid)) {
    if (Date.now() > deadline) throw new Error(`PID ${tracer.pid} is still traced after ${tracer.tracerName} (PID ${tracer.tracerPid}) was stopped.`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (/^[Tt]/.test(field(await status(tracer.pid), 'State') ?? '')) process.kill(tracer.pid, 'SIGCONT');
}

/** What to do about a tracer without asking (tests, other extensions): stop it, or give up. */
export type TracerDecision = 'stop' | 'cancel';

/** The modal: resolves to the button chosen, or undefined for Cancel. A seam for tests in the
 * extension host, which cannot click a modal. */
export type TracerModal = (message: string, detail: string, button: string) => Thenable<string | undefined>;

export const tracerModal: TracerModal = (message, detail, button) => vscode.window.showWarningMessage(message, { modal: true, detail }, button);

function question(what: string, tracerName: string, tracerPid: number): [message: string, detail: string] {
  return [
    `${what} is traced by ${tracerName} (PID ${tracerPid}). Stop ${tracerName} and migrate?`,
    'A traced process cannot be checkpointed. Stopping the tracer detaches it and the process runs on. ' +
      `If ${tracerName} is running the program with breakpoints set, pause it there first (or detach from within ${tracerName} and retry).`,
  ];
}

/** For the engine's `onTraced`: true when the user agrees to stop the tracer (the engine stops it). */
export async function askToStopTracer(traced: TracedProcess, modal: TracerModal = tracerModal): Promise<boolean> {
  const [message, detail] = question(`${traced.name} (PID ${traced.pid}) on ${traced.host}`, traced.tracerName, traced.tracerPid);
  return (await modal(message, detail, STOP_TRACER)) === STOP_TRACER;
}

/**
 * Resolves to true when local process `pid` is (now) free of tracers: it had none, or the user
 * agreed to stop its tracer and it was stopped. False means do not migrate (the user was told).
 */
export async function resolveTracer(pid: number, what: string, decision?: TracerDecision): Promise<boolean> {
  const tracer = await findTracer(pid);
  if (!tracer) return true;
  const choice = decision ?? ((await tracerModal(...question(what, tracer.tracerName, tracer.tracerPid), STOP_TRACER)) === STOP_TRACER ? 'stop' : 'cancel');
  if (choice !== 'stop') return false;
  try {
    await stopTracer(tracer);
    return true;
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
    return false;
  }
}
