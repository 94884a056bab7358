// Pre-copy, as go-criu's phaul does it: the memory is copied in rounds while the process runs
// on, each round only the pages changed since the round before (the kernel's soft-dirty bits),
// until a round is small, stops shrinking, or the round limit is reached; then the process is
// frozen once, for what changed since the last round. Each round's pages land in a directory of
// their own on the destination, linked to the round before (CRIU's `parent`), so the restore
// reads every page from the round holding its last version. Nothing runs on the destination
// before the commit, so any failure resumes the source as it was (stop-and-copy's discipline);
// the rounds themselves never freeze it for longer than collecting the changed pages takes.
import type { PageService } from '../../checkpoint/engine';
import { formatBytes } from '../../common/format';
import type { CopyRound } from '../api';
import { pageSocket } from '../pageTunnel';
import type { StrategyContext, StrategySwitch } from './context';

export interface PreCopyLimits {
  /** Rounds at most before the final dump (phaul's 8). */
  maxRounds: number;
  /** A round that copied less than this leaves little enough to freeze for. */
  minBytes: number;
  /** Likewise a round that copied less than this fraction of the first one. */
  minFraction: number;
}

export const PRE_COPY_LIMITS: PreCopyLimits = { maxRounds: 8, minBytes: 1 << 20, minFraction: 0.05 };

/** A round as the loop saw it: when it started, for the dirty rate. */
export interface TimedRound extends CopyRound {
  startedMs: number;
}

/** Why the rounds stop after `rounds`, in words; undefined to go on. */
export function stopAfter(rounds: readonly CopyRound[], limits: PreCopyLimits = PRE_COPY_LIMITS): string | undefined {
  const n = rounds.length;
  const [first, previous, last] = [rounds[0], rounds[n - 2], rounds[n - 1]];
  if (last.bytes < limits.minBytes) return `converged: round ${n} copied ${formatBytes(last.bytes)}, under ${formatBytes(limits.minBytes)}`;
  if (previous && last.bytes < first.bytes * limits.minFraction) {
    return `converged: round ${n} copied ${formatBytes(last.bytes)}, under ${Math.round(limits.minFraction * 100)}% of the first round's ${formatBytes(first.bytes)}`;
  }
  if (previous && last.bytes >= previous.bytes) {
    return `no progress: round ${n} copied ${formatBytes(last.bytes)}, no less than round ${n - 1}; the process changes memory as fast as the rounds copy it`;
  }
  if (n >= limits.maxRounds) return `round limit: ${n} rounds, the most pre-copy runs`;
  return undefined;
}

/** After two rounds: the first copied all memory (the link's rate), the second what changed
 * since the first began (the process's dirty rate). In bytes per millisecond. */
export function rates(rounds: readonly TimedRound[]): { link: number; dirty: number } {
  const [first, second] = rounds;
  return { link: first.bytes / Math.max(1, first.ms), dirty: second.bytes / Math.max(1, second.startedMs - first.startedMs) };
}

/** Auto's pre-copy that cannot catch up resolves with its other choice (nothing frozen yet). */
export async function preCopy(migration: StrategyContext, limits: PreCopyLimits = PRE_COPY_LIMITS): Promise<StrategySwitch | void> {
  const { checkpoint, pid, from, to, images, report } = migration;

  migration.progress('connect', `preparing image directories on ${from} and ${to}, and the page tunnel`);
  // One tunnel serves every round: each round's page server listens at its socket in turn.
  const { sourceDir, destinationDir, tunnel } = await migration.phase('connect', () => images.prepare());
  migration.checkCancelled();

  // Rounds live in numbered directories on both sides (`1`, `2`, …, then `final`), each linked
  // to the one before; only the round under way has a page server to stop on rollback.
  let receiver: PageService | undefined;
  let parent: string | undefined;
  migration.onRollback(`stop the page server on ${to}`, async () => receiver?.stop());
  const receive = async (dir: string) => (receiver = await checkpoint.receivePages(migration.destination, `${destinationDir}/${dir}`, pageSocket(destinationDir), { parent }));

  const rounds: TimedRound[] = [];
  const copied: CopyRound[] = (report.rounds = []);
  let stopped: string | undefined;
  while (!stopped) {
    const n = rounds.length + 1;
    migration.progress('rounds', `round ${n}: copying ${n === 1 ? 'the memory' : 'what changed'} of process ${pid} while it runs`);
    const startedMs = performance.now();
    const stats = await migration.phase('rounds', async () => {
      const pages = await receive(String(n));
      try {
        const stats = await checkpoint.preDump(migration.source, pid, `${sourceDir}/${n}`, migration.plan, tunnel.socket, { parent });
        await pages.done;
        receiver = undefined; // ended: nothing to stop
        return stats;
      } catch (err) {
        // CRIU resumes the tree when a pre-dump fails; should it have died with the tree held,
        // nothing else would.
        await resumeIfLeftStopped(migration);
        throw err;
      }
    });
    const round = { round: n, pages: stats.pagesWritten, bytes: stats.pagesWritten * stats.pageSize, ms: Math.round(performance.now() - startedMs) };
    rounds.push({ ...round, startedMs });
    copied.push(round);
    parent = String(n);
    migration.checkCancelled();

    const { fallback } = migration;
    if (fallback && n === 2) {
      const { link, dirty } = rates(rounds);
      if (dirty >= link) return { instead: fallback, why: `it dirtied memory at ${mibPerS(dirty)} while the link copied ${mibPerS(link)}` };
    }
    stopped = stopAfter(copied, limits);
  }
  report.roundsStopped = stopped;
  report.options.push(...checkpoint.preCopyOptions());

  migration.progress('dump', `freezing process ${pid} on ${from} and checkpointing what changed since round ${parent}`);
  const pages = await receive('final'); // up before the freeze, as stop-and-copy's
  await migration.freeze();
  const finalStart = performance.now();
  const stats = await migration.phase('dump', () =>
    checkpoint.dump(migration.source, pid, `${sourceDir}/final`, migration.plan, tunnel.socket, { parent }),
  );

  migration.progress('transfer', `sending the remaining images to ${to}`);
  const { closing } = await migration.phase('transfer', () => images.sendRemainingImages(pages.done, tunnel, images.openCopy(`${sourceDir}/final`, `${destinationDir}/final`)));
  if (stats) {
    const bytes = stats.pagesWritten * stats.pageSize;
    copied.push({ round: rounds.length + 1, pages: stats.pagesWritten, bytes, ms: Math.round(performance.now() - finalStart), final: true });
  }
  migration.checkCancelled();

  migration.progress('restore', `restoring the process on ${to} from ${rounds.length + 1} rounds of images`);
  const restored = await migration.phase('restore', () => checkpoint.restore(migration.destination, `${destinationDir}/final`, migration.plan));
  await migration.verify(restored);
  await closing;
  await migration.commit();
}

async function resumeIfLeftStopped(migration: StrategyContext): Promise<void> {
  // A tree stopped before the migration (job control) stays as it was.
  if (migration.stoppedBefore) return;
  const state = await migration.source.run(['state', String(migration.pid)]).catch(() => '');
  if (state.trim() === 'stopped') await migration.resumeSource().catch(() => undefined);
}

function mibPerS(bytesPerMs: number): string {
  return `${Math.round((bytesPerMs * 1000) / (1 << 20))} MiB/s`;
}
