// The one table of strategies, and the run of the chosen one (and of auto's other choice, should
// pre-copy hand over to it).
import type { Strategy } from '../api';
import type { MigrationSession } from '../session';
import type { StrategyChoice } from '../strategy';
import type { StrategyRun } from './context';
import { postCopy } from './postCopy';
import { preCopy } from './preCopy';
import { stopAndCopy } from './stopAndCopy';

export type StrategyTable = Record<Exclude<Strategy, 'auto'>, StrategyRun>;

export const STRATEGIES: StrategyTable = {
  'stop-and-copy': stopAndCopy,
  'pre-copy': preCopy,
  'post-copy': postCopy,
};

/** Runs `choice` to its commit; a switch undoes what it set up and runs the other choice. */
export async function runStrategy(session: MigrationSession, choice: StrategyChoice, table: StrategyTable = STRATEGIES): Promise<void> {
  for (let run: StrategyChoice | undefined = choice; run; ) {
    const next = await table[run.strategy](session.strategyContext(run));
    if (next) await session.switchStrategy(next);
    run = next?.instead;
  }
}
