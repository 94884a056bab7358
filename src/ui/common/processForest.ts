// Turns a host's flat process list into the tree the view shows. Host-free and pure: the view and
// the pickers use it, and tests feed it captured lists.
import { formatKiB } from '../../common/format';
import { isKernelThread } from '../../helper/processList';
import type { ProcessInfo } from '../../migration/api';

export interface ProcessFilter {
  /** Case-insensitive substring of name, command, user or PID; a non-empty text shows matches flat. */
  text: string;
  /** Only processes of the user the extension host runs as. */
  onlyMine: boolean;
  /** Hide kernel threads and other users' processes with system UIDs (< 1000). */
  hideSystem: boolean;
}

export const NO_FILTER: ProcessFilter = { text: '', onlyMine: false, hideSystem: false };

export interface ProcessNode {
  info: ProcessInfo;
  mine: boolean;
  children: ProcessNode[];
}

/** First UID of regular users on Debian-like systems (login.defs UID_MIN). */
export const FIRST_USER_UID = 1000;


export function isSystemProcess(p: ProcessInfo, myUid: number): boolean {
  return isKernelThread(p) || (p.uid !== myUid && p.uid < FIRST_USER_UID);
}

export function isFilterActive(filter: ProcessFilter): boolean {
  return filter.text.trim() !== '' || filter.onlyMine || filter.hideSystem;
}

export function matchesText(p: ProcessInfo, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  return (
    String(p.pid) === needle ||
    p.name.toLowerCase().includes(needle) ||
    p.command.toLowerCase().includes(needle) ||
    p.user.toLowerCase() === needle
  );
}

/** The user's own processes first, then by PID. */
export function compareProcesses(a: ProcessNode, b: ProcessNode): number {
  if (a.mine !== b.mine) return a.mine ? -1 : 1;
  return a.info.pid - b.info.pid;
}

/**
 * Builds the forest. Without a text filter a process is a root when its parent is not listed or
 * belongs to another user, so each user's session trees start at the top (a user's shell is not
 * buried under root's sshd and systemd). With a text filter the matches are listed flat.
 */
export function buildProcessForest(processes: readonly ProcessInfo[], myUid: number, filter: ProcessFilter = NO_FILTER): ProcessNode[] {
  const kept = processes.filter(
    (p) => (!filter.onlyMine || p.uid === myUid) && (!filter.hideSystem || !isSystemProcess(p, myUid)),
  );
  const nodes = new Map<number, ProcessNode>();
  for (const info of kept) nodes.set(info.pid, { info, mine: info.uid === myUid, children: [] });

  let roots: ProcessNode[];
  if (filter.text.trim()) {
    roots = [...nodes.values()].filter((n) => matchesText(n.info, filter.text));
  } else {
    roots = [];
    for (const node of nodes.values()) {
      const parent = nodes.get(node.info.ppid);
      if (parent && parent !== node && parent.info.uid === node.info.uid) parent.children.push(node);
      else roots.push(node);
    }
    for (const node of nodes.values()) node.children.sort(compareProcesses);
  }
  return roots.sort(compareProcesses);
}

/** Depth-first search of a forest. */
export function findProcess(forest: readonly ProcessNode[], pid: number): ProcessNode | undefined {
  for (const node of forest) {
    if (node.info.pid === pid) return node;
    const found = findProcess(node.children, pid);
    if (found) return found;
  }
  return undefined;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** `PID 4242 · 1.5% · 12 MiB`, the description of a process row. */
export function describeProcess(p: ProcessInfo): string {
  return `PID ${p.pid} · ${p.cpu.toFixed(1)}% · ${formatKiB(p.rssKiB)}`;
}
