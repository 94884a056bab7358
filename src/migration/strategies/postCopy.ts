// Post-copy: the freeze covers only the process's non-memory state; the process runs on the
// destination at once and its pages follow (lazyRestore.ts). Freeze time stays nearly flat as
// memory grows. The price: once the process runs on the destination it depends on the source
// until the last page arrived. If that fails, the source — still stopped, its memory intact —
// is resumed as it was when frozen, and what the process did on the destination in the
// meantime is lost. The preflight makes that rare: both page servers are CRIU's own, checked
// before the freeze, and the tunnel is open before it. Relayed through this machine instead of
// host to host, the pages trickled in at 30–40 MiB/s (bench/results).
import { clauseFor } from '../errors';
import type { StrategyContext } from './context';
import { restoreLazily } from './lazyRestore';

export async function postCopy(migration: StrategyContext): Promise<void> {
  const { from, to } = migration;
  const { restored, pagesDone, closeTunnel } = await restoreLazily(migration, {
    leaveStopped: false,
    restoring: `restoring the process on ${to}; its memory follows on demand`,
  });
  await migration.verify(restored);

  migration.progress('pages', `the process runs on ${to}; moving the rest of its memory from ${from}`);
  try {
    await migration.phase('pages', () => pagesDone);
  } catch (err) {
    throw new Error(
      `Moving the memory from ${from} failed after the process had resumed on ${to} (${clauseFor(err)}); it was resumed on ${from} as it was when frozen, and what it did on ${to} since is lost.`,
    );
  }
  await closeTunnel();
  await migration.commit();
}
