// Turns CRIU's log lines into one sentence a developer can act on. The patterns are the
// failures we have met (see README, "What can go wrong"); anything else quotes CRIU's last error.
import type { CheckpointFailureKind } from './engine';

interface Explanation {
  kind: CheckpointFailureKind;
  message: string;
}

type Rule = [RegExp, (m: RegExpExecArray, ctx: Context) => Explanation];

interface Context {
  action: 'dump' | 'pre-dump' | 'restore' | 'page-server' | 'lazy-pages';
  host: string;
  pid?: number;
}

const rules: Rule[] = [
  [/Can't fork for (\d+): File exists/, (m, c) => ({
    kind: 'pid-taken',
    message: `PID ${m[1]} is already used on ${c.host}, so CRIU cannot give the process its PID back there; stop that process on ${c.host} or migrate to another host.`,
  })],
  [/Can't open file (.+?) on restore: No such file or directory/, (m, c) => ({
    kind: 'file-missing',
    message: `The process has ${absolute(m[1])} open, but that file does not exist on ${c.host}; copy it there (same path) and retry.`,
  })],
  [/File (.+?) has bad size/, (m, c) => ({
    kind: 'file-size',
    message: `The file ${absolute(m[1])} on ${c.host} differs in size from the one the process had open; make the two copies identical and retry.`,
  })],
  [/File (.+?) has bad mode (0[0-7]+) \(expect (0[0-7]+)\)/, (m, c) => ({
    kind: 'file-mode',
    message: `The file ${absolute(m[1])} on ${c.host} has other permissions (mode ${permissions(m[2])}) than the one the process had open (${permissions(m[3])}); give it the same mode (chmod ${permissions(m[3])}) and retry.`,
  })],
  [/No space left on device|ENOSPC/, (_m, c) => ({
    kind: 'disk-full',
    message: `${c.host} ran out of disk space while writing the checkpoint images; free some space in /var/tmp there and retry.`,
  })],
  // CRIU 4.2.1 says "tty: Found dangling tty with sid … (pts) on peer fd 0." for a shell job dumped without --shell-job.
  [/tty: No task found with sid|tty: Found dangling tty|tty.*Can't find|The tty .* is not dumped/i, (_m, c) => ({
    kind: 'terminal',
    message: `CRIU could not ${c.action} the process's terminal on ${c.host}; run it inside tmux or screen, or without a terminal, and retry.`,
  })],
  [/(is traced|ptrace.*(traced|attach))|Unable to seize/i, (_m, c) => ({
    kind: 'traced',
    message: `Process ${c.pid ?? ''} on ${c.host} is being traced (a debugger or strace is attached); detach it and retry.`.replace('  ', ' '),
  })],
  [/Connected TCP socket|tcp-established|TCP connection/i, (_m, c) => ({
    kind: 'tcp',
    message: `The process on ${c.host} has established TCP connections CRIU will not move; they must be closed (the migration does this automatically unless disabled).`,
  })],
  [/page-pipe: tee: \d+: Operation not permitted/, (_m, c) => ({
    kind: 'unsupported',
    message: `CRIU cannot grow its pipes on ${c.host} (fs.pipe-max-size is below 4 MiB and it lacks CAP_SYS_RESOURCE); run \`sysctl fs.pipe-max-size=4194304\` there, or use the stop-and-copy strategy.`,
  })],
  // pre-dump always tracks memory; CRIU aborts ("BUG at criu/mem.c") where the kernel cannot.
  [/Tracking memory is not available|BUG at criu\/mem\.c/, (_m, c) => ({
    kind: 'unsupported',
    message: `${c.host}'s kernel has no soft-dirty memory tracking, which pre-copy needs; use stop-and-copy or post-copy.`,
  })],
  [/Unexpected rt vDSO area bounds/, (_m, c) => ({
    kind: 'unsupported',
    message: `The CRIU on ${c.host} is too old for its kernel; install CRIU 4.2 or newer (\`procmig setup ${c.host}\` or Set Up Host… does it).`,
  })],
  [/Can't lookup mount=\d+ for fd=(\d+)/, (m, c) => ({
    kind: 'unsupported',
    message: `Descriptor ${m[1]} of the process on ${c.host} points into a mount CRIU cannot see (often a file inherited from the editor); close it or start the process outside the editor, and retry.`,
  })],
  [/Can't dump ghost file (\S+)/, (m, c) => ({
    kind: 'unsupported',
    message: `The process on ${c.host} holds the deleted file ${absolute(m[1])}, too large to carry; close it and retry.`,
  })],
];

/** CRIU names files relative to the root of their mount namespace ("dev/shm/psm_1"); a sentence
 * names them as the user knows them. */
function absolute(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/** The permission bits of a st_mode CRIU printed in octal (0100600 → 0600). */
function permissions(mode: string): string {
  return `0${(parseInt(mode, 8) & 0o7777).toString(8).padStart(3, '0')}`;
}

/** Lines CRIU prints on every run here that explain nothing. */
const noise = [/RLIMIT_NOFILE/, /Can't keep kdat cache/];

/** The line every failed CRIU run ends with; the error before it says what failed. */
const closing = /(Dumping|Restoring) FAILED\.?\s*$/;

export function explainCriuFailure(log: string[], ctx: Context): Explanation {
  const lines = log.filter((l) => !noise.some((n) => n.test(l)));
  for (const [pattern, explain] of rules) {
    for (const line of lines) {
      const m = pattern.exec(line);
      if (m) return explain(m, ctx);
    }
  }
  const errors = lines.filter((l) => /Error/.test(l));
  const last = errors.filter((l) => !closing.test(l)).pop() ?? errors.pop() ?? lines.pop();
  const detail = last ? `: ${last.replace(/^.*?Error \([^)]*\):\s*/, '').trim().replace(/[.;:,\s]+$/, '')}` : '';
  return {
    kind: 'other',
    message: `CRIU failed to ${c(ctx)} on ${ctx.host}${detail}; see the CRIU log (Show Log, or --json) for details.`,
  };
}

function c(ctx: Context): string {
  if (ctx.action === 'page-server') return 'receive the memory pages';
  if (ctx.action === 'lazy-pages') return 'fetch the memory pages on demand';
  if (ctx.action === 'pre-dump') return `copy the memory of process ${ctx.pid ?? ''} while it runs`.replace('  ', ' ');
  return ctx.action === 'dump' ? `checkpoint process ${ctx.pid ?? ''}`.trim() : 'restore the process';
}
