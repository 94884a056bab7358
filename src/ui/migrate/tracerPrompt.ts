// A process traced with ptrace (gdb, strace, a native debugger) cannot be checkpointed: CRIU needs
// to be its tracer itself. Before migrating, say who traces it and offer to stop the tracer: when
// a tracer dies the kernel detaches its tracees and they run on. Migrate Process asks from the
// engine's preflight (`onTraced`, any host); Migrate Debug Session asks here first (this machine).
// Finding and stopping the tracer are the engine's (the helper's `inspect` and `untrace`).
import * as vscode from 'vscode';
import type { Engine, TracedProcess } from '../../migration/api';

export const STOP_TRACER = 'Stop Tracer and Migrate';

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
 * Resolves to true when process `pid` of `host` is (now) free of tracers: it had none, or the
 * user agreed to stop its tracer and it was stopped. False means do not migrate (the user was told).
 */
export async function resolveTracer(engine: Engine, host: string, pid: number, what: string, decision?: TracerDecision): Promise<boolean> {
  // A process the helper cannot inspect has no tracer it could stop; the migration's preflight says what is wrong.
  const tracer = await engine.tracerOf(host, pid).catch(() => undefined);
  if (!tracer) return true;
  const choice = decision ?? ((await tracerModal(...question(what, tracer.tracerName, tracer.tracerPid), STOP_TRACER)) === STOP_TRACER ? 'stop' : 'cancel');
  if (choice !== 'stop') return false;
  try {
    await engine.stopTracer(tracer);
    return true;
  } catch (err) {
    void vscode.window.showErrorMessage(`Cannot stop ${tracer.tracerName} (PID ${tracer.tracerPid}): ${(err as Error).message.replace(/\.$/, '')}.`);
    return false;
  }
}
