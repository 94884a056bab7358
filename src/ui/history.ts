// Past migrations of this workspace, newest first, kept in workspaceState. Host-free.
import type { MigrationResult } from '../migration/api';

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
}

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

  async add(result: MigrationResult, name?: string): Promise<HistoryEntry> {
    const entry: HistoryEntry = { id: `${result.startedAt}|${result.from}|${result.sourcePid}`, name, result };
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
