// /proc/PID/stat, read from this machine by the runner and by the suite.
import { readFileSync } from 'node:fs';

/** The fields after the comm (state, ppid, …): the comm is parenthesised and may itself hold
 * spaces or parentheses, so it ends at the last `)`. Throws when the process is gone. */
export function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
