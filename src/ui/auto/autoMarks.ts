// Which processes the user allowed to move automatically (*Allow Automatic Moves*), kept in the
// workspace state. A mark is keyed by host and PID and remembers the program's name, so a PID
// reused by another program is not taken for the marked one; a mark follows its process when it
// moves. Host-free (the memento is passed in).
import type { MementoLike } from '../report/history';

export const MARKS_KEY = 'processMigrator.automaticMoves';

export interface AutoMark {
  host: string;
  pid: number;
  /** The short name when marked. */
  name?: string;
  markedAt: string;
}

/** Why the marks changed: the user's say (`allow`, `disallow`), or a marked process moved or ended. */
export type MarksChange = 'allow' | 'disallow' | 'moved' | 'prune';

export class AutoMarks {
  private readonly listeners = new Set<(change: MarksChange) => void>();

  constructor(private readonly memento: MementoLike) {}

  list(): AutoMark[] {
    const stored = this.memento.get<AutoMark[]>(MARKS_KEY);
    return Array.isArray(stored) ? stored : [];
  }

  /** Whether `pid` on `host` is marked; with `name`, only if the mark was for that program. */
  isMarked(host: string, pid: number, name?: string): boolean {
    const mark = this.find(host, pid);
    return !!mark && (!name || !mark.name || mark.name === name);
  }

  async allow(host: string, pid: number, name?: string): Promise<void> {
    const rest = this.list().filter((m) => !(m.host === host && m.pid === pid));
    await this.save([...rest, { host, pid, ...(name ? { name } : {}), markedAt: new Date().toISOString() }], 'allow');
  }

  async disallow(host: string, pid: number): Promise<void> {
    await this.save(this.list().filter((m) => !(m.host === host && m.pid === pid)), 'disallow');
  }

  /** The process moved (automatically or not): its mark goes with it. */
  async moved(from: { host: string; pid: number }, to: { host: string; pid: number }): Promise<void> {
    const mark = this.find(from.host, from.pid);
    if (!mark) return;
    const rest = this.list().filter((m) => m !== mark && !(m.host === to.host && m.pid === to.pid));
    await this.save([...rest, { ...mark, host: to.host, pid: to.pid }], 'moved');
  }

  /** Drops the marks of processes that no longer run (`running(host)` lists the PIDs there, or
   * undefined when the host could not be asked: its marks stay). */
  async prune(running: (host: string) => ReadonlyMap<number, string> | undefined): Promise<void> {
    const kept = this.list().filter((m) => {
      const here = running(m.host);
      if (!here) return true;
      const name = here.get(m.pid);
      return name !== undefined && (!m.name || m.name === name);
    });
    if (kept.length !== this.list().length) await this.save(kept, 'prune');
  }

  onDidChange(listener: (change: MarksChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private find(host: string, pid: number): AutoMark | undefined {
    return this.list().find((m) => m.host === host && m.pid === pid);
  }

  private async save(marks: AutoMark[], change: MarksChange): Promise<void> {
    await this.memento.update(MARKS_KEY, marks);
    for (const listener of [...this.listeners]) listener(change);
  }
}
