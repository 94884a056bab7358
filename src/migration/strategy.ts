// Picks how a process moves. Only stop-and-copy exists so far; the others are chosen here once
// implemented, from the process's size and the hosts' features.
import type { Strategy } from './api';

export interface StrategyChoice {
  strategy: Exclude<Strategy, 'auto'>;
  reason: string;
}

export function chooseStrategy(requested: Strategy | undefined): StrategyChoice {
  switch (requested ?? 'auto') {
    case 'stop-and-copy':
      return { strategy: 'stop-and-copy', reason: 'requested' };
    case 'auto':
      return { strategy: 'stop-and-copy', reason: 'stop-and-copy with streamed memory is the only strategy available in this version' };
    default:
      return { strategy: 'stop-and-copy', reason: `${requested} is not available in this version; fell back to stop-and-copy` };
  }
}
