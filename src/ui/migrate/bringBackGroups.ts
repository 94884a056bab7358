// Bring Back All's batches: the processes to move home, grouped by home and current host (one
// engine batch moves processes between one pair of hosts). Host-free and pure.
import type { HistoryEntry } from '../report/history';

export interface BringBackGroup {
  home: string;
  /** Where they run now. */
  from: string;
  pids: number[];
}

/** One group per home and current host, in the order the entries come. Host-free and pure. */
export function bringBackGroups(entries: readonly HistoryEntry[], home: (entry: HistoryEntry) => string): BringBackGroup[] {
  const groups = new Map<string, BringBackGroup>();
  for (const entry of entries) {
    const h = home(entry);
    const from = entry.result.to;
    const pid = entry.result.destinationPid;
    if (pid === undefined || from === h) continue;
    const key = `${h}\n${from}`;
    const group = groups.get(key) ?? { home: h, from, pids: [] };
    group.pids.push(pid);
    groups.set(key, group);
  }
  return [...groups.values()];
}
