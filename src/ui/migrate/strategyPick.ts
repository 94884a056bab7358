// The strategy in the migrate flow: the destination picker says which strategy will be used (and,
// for auto, what auto is likely to pick for this process) and has a title button to choose another
// for this migration. Picking a host stays one click; the setting gives the default.
import * as vscode from 'vscode';
import type { ProcessInfo, Strategy } from '../../migration/api';
import { predictAuto } from './strategyPreview';

export const STRATEGIES: readonly Strategy[] = ['auto', 'stop-and-copy', 'pre-copy', 'post-copy'];

const STRATEGY_DETAILS: Record<Strategy, string> = {
  auto: 'Chosen from the process size and what both hosts support; the report says why.',
  'stop-and-copy': 'Freeze, copy everything, resume on the destination: simplest, the freeze lasts the whole copy.',
  'pre-copy': 'Copy memory while it runs, then freeze for the rest (needs soft-dirty tracking; falls back otherwise).',
  'post-copy': 'Resume on the destination at once and pull memory on demand: shortest freeze for large processes.',
};

/** Resident memory of `pid` and its descendants, in KiB. */
export function treeRssKiB(processes: readonly ProcessInfo[], pid: number): number {
  const children = new Map<number, ProcessInfo[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  let total = 0;
  const stack = processes.filter((p) => p.pid === pid);
  for (let p = stack.pop(); p; p = stack.pop()) {
    total += p.rssKiB;
    stack.push(...(children.get(p.pid) ?? []));
  }
  return total;
}

/** The strategy of one migrate flow, changeable from the destination picker's title button. */
export class StrategyChoice {
  readonly button: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('settings-gear'), tooltip: 'Choose the migration strategy…' };

  constructor(
    public strategy: Strategy,
    private readonly rssKiB?: number,
  ) {}

  /** `strategy: auto (stop-and-copy for 44 MiB)`. */
  summary(): string {
    const guess = this.strategy === 'auto' ? predictAuto(this.rssKiB) : undefined;
    return `strategy: ${this.strategy}${guess ? ` (likely ${guess})` : ''}`;
  }

  /** Asks for a strategy; keeps the current one when dismissed. */
  async choose(): Promise<void> {
    const items = STRATEGIES.map((s) => ({
      label: s,
      description: [s === this.strategy ? 'current' : '', s === 'auto' ? predictAuto(this.rssKiB) ?? '' : ''].filter(Boolean).join(' · '),
      detail: STRATEGY_DETAILS[s],
      strategy: s,
    }));
    const qp = vscode.window.createQuickPick<(typeof items)[number]>();
    qp.title = 'Migration strategy for this move';
    qp.items = items;
    qp.activeItems = items.filter((i) => i.strategy === this.strategy);
    qp.ignoreFocusOut = true;
    const picked = await new Promise<Strategy | undefined>((resolve) => {
      qp.onDidAccept(() => {
        resolve(qp.selectedItems[0]?.strategy);
        qp.hide();
      });
      qp.onDidHide(() => {
        resolve(undefined);
        qp.dispose();
      });
      qp.show();
    });
    if (picked) this.strategy = picked;
  }
}
