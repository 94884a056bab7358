// `procmig run`: starts a program migration-ready on a host, through the helper's `run-ready`
// (the launcher travels with the helper, so a host needs only perl for it).
import { HelperError, parseKeyValues, type HostHelper } from '../helper/hostHelper';
import { shellQuote } from '../transport/sshHost';
import type { RunRequest, RunResult } from './api';
import { sentenceFor } from './errors';

/** tmux sessions of `run --tmux` are `procmig-run-1`, `-2`, …: `procmig-*`, like the sessions
 * restores make, so the helper's tty-attach reaches them too. */
export const RUN_SESSION_PREFIX = 'procmig-run';

/** The helper command for a request. */
export function runReadyArgs(request: RunRequest): string[] {
  if (!request.command.length) throw new Error('No command to run: give it after `--`, e.g. `procmig run -- node server.js`.');
  return [
    'run-ready',
    ...(request.cwd ? ['--cwd', request.cwd] : []),
    ...(request.tmux ? ['--tmux', RUN_SESSION_PREFIX] : []),
    '--',
    ...request.command,
  ];
}

/** The result of `run-ready`'s output; a program that ended at once is a failure, told with
 * its exit code and last line of output where known. */
export function parseRunReady(request: RunRequest, stdout: string): RunResult {
  const kv = parseKeyValues(stdout);
  const pid = Number(kv.pid);
  const result: RunResult = { ok: pid > 0, host: request.host, command: request.command, pid: pid > 0 ? pid : undefined };
  if (kv.log) result.log = kv.log;
  if (kv.session) result.terminal = { host: request.host, session: kv.session, attach: ['tmux', 'attach', '-t', kv.session] };
  if (!result.ok) result.error = `The helper on ${request.host} started \`${commandLine(request.command)}\` but reported no PID; retry with -v to see what it said.`;
  else if (kv.ended === '1') {
    result.ok = false;
    const code = kv.exit_code !== undefined ? ` with exit code ${kv.exit_code}` : '';
    const said = kv.last_line ? ` (its last line: ${kv.last_line.trim()})` : '';
    const where = result.log ? `; its output is in ${result.log} there` : '; run it without --tmux to keep its output in a log file';
    result.error = `\`${commandLine(request.command)}\` ended at once on ${request.host}${code}${said}${where}.`;
  }
  return result;
}

/** Starts the request's command on its host; never throws: a failure (connecting included) is a
 * result with one sentence. */
export async function runMigrationReady(helper: () => Promise<HostHelper>, request: RunRequest): Promise<RunResult> {
  try {
    const args = runReadyArgs(request);
    return parseRunReady(request, await (await helper()).run(args));
  } catch (err) {
    // The helper's own sentence (`perl is not installed on …; install it …`) says it best.
    const error = err instanceof HelperError ? sentence(err.message) : sentenceFor(err);
    return { ok: false, host: request.host, command: request.command, error };
  }
}

/** argv as one would type it in a shell. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

function sentence(text: string): string {
  const s = text.trim();
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;
}
