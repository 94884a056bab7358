// Past migrations of this workspace, newest first, kept in workspaceState. Host-free.
import type { MigrationResult, Strategy } from '../../migration/api';
import { evacuationTrigger } from '../../automatic/evacuate';

export const HISTORY_KEY = 'processMigrator.history';
export const HISTORY_LIMIT = 50;

/** What vscode.Memento offers and this needs. */
export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

export interface HistoryEntry {
  /** Stable within the workspace: `startedAt` plus the source. */
  id: string;
  /** The process's short name when it was known. */
  name?: string;
  result: MigrationResult;
  /** What the user asked for (the result says what ran and why). */
  requestedStrategy?: Strategy;
  /** Ports forwarded from the origin after the move, or why one could not be. */
  forwards?: ForwardRecord[];
  /** Shared by the entries of processes moved together in one request. */
  batchId?: string;
  /** What the batch was, for its report (`Evacuation of lab-a`). */
  batchLabel?: string;
  /** Not moved by its batch (an evacuation left it, never frozen); `result.error` says why. */
  left?: boolean;
}

export interface ForwardRecord {
  port: number;
  /** Set when the port could not be forwarded. */
  error?: string;
}

export type EntryDetails = Pick<HistoryEntry, 'requestedStrategy' | 'forwards' | 'batchId' | 'batchLabel' | 'left'>;

export class MigrationHistory {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly memento: MementoLike) {}

  entries(): HistoryEntry[] {
    const stored = this.memento.get<HistoryEntry[]>(HISTORY_KEY);
    return Array.isArray(stored) ? stored : [];
  }

  latest(): HistoryEntry | undefined {
    return this.entries()[0];
  }

  get(id: string): HistoryEntry | undefined {
    return this.entries().find((e) => e.id === id);
  }

  /** Entries moved together with `entry` (itself included), in request order. */
  batchOf(entry: HistoryEntry): HistoryEntry[] {
    return entry.batchId ? this.entries().filter((e) => e.batchId === entry.batchId).reverse() : [entry];
  }

  /** The successful migration that brought the process `pid` to `host`, unless it moved on since. */
  arrivedAt(host: string, pid: number): HistoryEntry | undefined {
    return arrivals(this.entries()).get(`${host}:${pid}`);
  }

  /** Every process that migrated in and is still where it arrived, as far as the history knows. */
  arrived(): HistoryEntry[] {
    return [...arrivals(this.entries()).values()];
  }

  /** The processes an evacuation of `host` moved that are still where they went: what *Bring
   * Back All* returns there. */
  evacuatedFrom(host: string): HistoryEntry[] {
    const trigger = evacuationTrigger(host);
    return this.arrived().filter((e) => e.result.trigger === trigger && e.result.from === host);
  }

  async add(result: MigrationResult, name?: string, details: EntryDetails = {}): Promise<HistoryEntry> {
    const entry: HistoryEntry = { id: `${result.startedAt}|${result.from}|${result.sourcePid}`, name, result, ...details };
    const next = [entry, ...this.entries().filter((e) => e.id !== entry.id)].slice(0, HISTORY_LIMIT);
    await this.memento.update(HISTORY_KEY, next);
    for (const listener of [...this.listeners]) listener();
    return entry;
  }

  async clear(): Promise<void> {
    await this.memento.update(HISTORY_KEY, []);
    for (const listener of [...this.listeners]) listener();
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}

/** `host:pid` → the entry that moved it there, replaying the history oldest first so that a
 * process that moved on (or was brought back) no longer counts where it was. */
function arrivals(entries: readonly HistoryEntry[]): Map<string, HistoryEntry> {
  const here = new Map<string, HistoryEntry>();
  for (const entry of [...entries].reverse()) {
    const r = entry.result;
    if (!r.ok || r.destinationPid === undefined) continue;
    here.delete(`${r.from}:${r.sourcePid}`);
    here.set(`${r.to}:${r.destinationPid}`, entry);
  }
  return here;
}
