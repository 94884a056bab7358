// Parses the helper's `ps` output: records, a `--` line, then pid<space>comm (comm may hold spaces).

export interface ProcessInfo {
  pid: number;
  ppid: number;
  user: string;
  uid: number;
  /** CPU use in percent of one core, as `ps` reports it. */
  cpu: number;
  /** Resident memory in KiB. */
  rssKiB: number;
  /** Short name (comm). */
  name: string;
  /** Full command line. */
  command: string;
  /** `ps` state letter(s), e.g. `S`, `R`, `T`. */
  state: string;
  /** Controlling terminal (`pts/3`) or undefined. */
  tty?: string;
}

export function parseProcessList(text: string): ProcessInfo[] {
  const [records = '', names = ''] = text.split(/^--$/m);
  const comm = new Map<number, string>();
  for (const line of names.split('\n')) {
    const m = /^\s*(\d+) (.*)$/.exec(line);
    if (m) comm.set(Number(m[1]), m[2]);
  }
  const out: ProcessInfo[] = [];
  for (const line of records.split('\n')) {
    // pid ppid uid user pcpu rss stat tty args…
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+([\d.]+)\s+(\d+)\s+(\S+)\s+(\S+)\s?(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const command = m[9].trim();
    out.push({
      pid,
      ppid: Number(m[2]),
      uid: Number(m[3]),
      user: m[4],
      cpu: Number(m[5]),
      rssKiB: Number(m[6]),
      state: m[7],
      tty: m[8] === '?' ? undefined : m[8],
      name: comm.get(pid) ?? command.split(/\s+/)[0]?.split('/').pop() ?? '',
      command,
    });
  }
  return out;
}

/** Kernel threads are children of kthreadd (PID 2) or kthreadd itself. */
export function isKernelThread(p: ProcessInfo): boolean {
  return p.pid === 2 || p.ppid === 2;
}
