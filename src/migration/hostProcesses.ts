// What the extension asks of a process besides moving it (a debug session's program, its
// debugpy adapter): who traces it, stop that tracer, is it still there, who listens on a port.
// All through the helper, on any host: the UI does no host I/O of its own.
import type { HostHelper } from '../helper/hostHelper';
import { parseKeyValues } from '../helper/hostHelper';
import { parseInspection } from '../helper/inspection';
import type { ProcessState, TracedProcess } from './api';

/** The ptrace tracer (gdb, strace) of a thread of `pid`, if any. */
export async function tracerOf(helper: HostHelper, pid: number): Promise<TracedProcess | undefined> {
  const inspection = parseInspection(pid, await helper.run(['inspect', String(pid)]));
  const task = inspection.tasks.find((t) => t.pid === pid && t.tracerPid !== 0);
  if (!task) return undefined;
  const tracerName = inspection.tracers[task.tracerPid] || 'a debugger';
  return { host: helper.host.name, pid, name: task.comm, tracerPid: task.tracerPid, tracerName };
}

/** Stops the tracer (the helper's `untrace`): the kernel detaches the process, which runs on. */
export async function stopTracer(helper: HostHelper, traced: TracedProcess): Promise<void> {
  await helper.run(['untrace', String(traced.pid), String(traced.tracerPid)]);
}

export async function processState(helper: HostHelper, pid: number): Promise<ProcessState> {
  return (await helper.run(['state', String(pid)])).trim() as ProcessState;
}

/** Those of `pids` started from a login (SSH, a desktop session, an editor's terminal), not by
 * init as a system service. */
export async function fromLogin(helper: HostHelper, pids: readonly number[]): Promise<number[]> {
  if (!pids.length) return [];
  return (await helper.run(['from-login', ...pids.map(String)])).split('\n').filter(Boolean).map(Number);
}

/** The process listening on TCP `port` there (debugpy's adapter daemonizes out of the
 * program's tree), if any. */
export async function listenerOf(helper: HostHelper, port: number): Promise<number | undefined> {
  const pid = Number(parseKeyValues(await helper.run(['listener', String(port)])).pid);
  return pid || undefined;
}
