// The processes a policy may move (*Allow Automatic Moves*), kept in workspaceState as
// `{host, pid}` with the command line they ran, so that a PID the kernel reuses for another
// process is never taken for a marked one; and the marks of the setting's `marked`. Host-free.
import type { Mark, TrackedMark } from '../../automatic/policy';
import type { MementoLike } from '../report/history';

export const MARKS_KEY = 'processMigrator.automaticMoves';

/** A mark the user set in this workspace. */
export interface PidMark {
  host: string;
  pid: number;
  /** Its command line when marked, when it was known. */
  seen?: string;
}

/** Where a row's mark comes from: this workspace's store (which *Stop Automatic Moves* edits) or
 * the setting's `marked`. */
export type MarkSource = 'workspace' | 'setting';

export class PolicyMarks {
  private readonly listeners = new Set<() => void>();
  private configured: readonly Mark[] = [];

  constructor(private readonly memento: MementoLike) {}

  /** The workspace's marks. */
  list(): PidMark[] {
    const stored = this.memento.get<PidMark[]>(MARKS_KEY);
    return Array.isArray(stored) ? stored : [];
  }

  /** What the watcher gets: the workspace's marks and the setting's. */
  all(): TrackedMark[] {
    return [...this.list(), ...this.configured];
  }

  /** The setting's `marked` (none while the setting is off or invalid). */
  setConfigured(marks: readonly Mark[]): void {
    if (JSON.stringify(marks) === JSON.stringify(this.configured)) return;
    this.configured = marks;
    this.changed();
  }

  /** Whether the process `pid` on `host` (running `command`) is marked, and by what. */
  markOf(host: string, pid: number, command: string): MarkSource | undefined {
    if (this.list().some((m) => m.host === host && m.pid === pid && (m.seen === undefined || m.seen === command))) return 'workspace';
    const bySetting = this.configured.some((m) => m.host === host && ('pid' in m ? m.pid === pid : safeTest(m.command, command)));
    return bySetting ? 'setting' : undefined;
  }

  async allow(marks: readonly PidMark[]): Promise<void> {
    const added = marks.filter((m) => !this.list().some((k) => same(k, m)));
    if (added.length) await this.store([...this.list(), ...added]);
  }

  async disallow(refs: readonly { host: string; pid: number }[]): Promise<void> {
    const kept = this.list().filter((m) => !refs.some((r) => same(r, m)));
    if (kept.length !== this.list().length) await this.store(kept);
  }

  /** A policy moved the process: it stays marked, on its new host under its new PID (also when
   * only the setting had marked it, so that it stays marked where it went). */
  async moved(from: { host: string; pid: number }, to: PidMark): Promise<void> {
    await this.store([...this.list().filter((m) => !same(m, from) && !same(m, to)), to]);
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private async store(marks: PidMark[]): Promise<void> {
    await this.memento.update(MARKS_KEY, marks);
    this.changed();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function same(a: { host: string; pid: number }, b: { host: string; pid: number }): boolean {
  return a.host === b.host && a.pid === b.pid;
}

function safeTest(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern).test(text);
  } catch {
    return false; // parsePolicies refuses it; the setting is then not applied
  }
}
