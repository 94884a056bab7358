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
import type { MigrationSession } from '../session';
import type { StrategyChoice } from '../strategy';
import { postCopy } from './postCopy';
import { stopAndCopy } from './stopAndCopy';

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

export async function preCopy(session: MigrationSession, limits: PreCopyLimits = PRE_COPY_LIMITS): Promise<void> {
  const { checkpoint } = session.deps;
  const { pid, from, to } = session.request;

  session.progress('connect', `preparing image directories on ${from} and ${to}, and the page tunnel`);
  // One tunnel serves every round: each round's page server listens at its socket in turn.
  const { sourceDir, destinationDir, tunnel } = await session.timeline.phase('connect', () => session.prepareImageRoute());
  session.checkCancelled();

  // Rounds live in numbered directories on both sides (`1`, `2`, …, then `final`), each linked
  // to the one before; only the round under way has a page server to stop on rollback.
  let receiver: PageService | undefined;
  let parent: string | undefined;
  session.rollback.add(`stop the page server on ${to}`, async () => receiver?.stop());
  const receive = async (dir: string) => (receiver = await checkpoint.receivePages(session.destination, `${destinationDir}/${dir}`, pageSocket(destinationDir), { parent }));

  const rounds: TimedRound[] = [];
  const report: CopyRound[] = (session.result.rounds = []);
  let stopped: string | undefined;
  while (!stopped) {
    const n = rounds.length + 1;
    session.progress('rounds', `round ${n}: copying ${n === 1 ? 'the memory' : 'what changed'} of process ${pid} while it runs`);
    const startedMs = performance.now();
    const stats = await session.timeline.phase('rounds', async () => {
      const pages = await receive(String(n));
      try {
        const stats = await checkpoint.preDump(session.source, pid, `${sourceDir}/${n}`, session.plan, tunnel.socket, { parent });
        await pages.done;
        receiver = undefined; // ended: nothing to stop
        return stats;
      } catch (err) {
        // CRIU resumes the tree when a pre-dump fails; should it have died with the tree held,
        // nothing else would.
        await resumeIfLeftStopped(session);
        throw err;
      }
    });
    const round = { round: n, pages: stats.pagesWritten, bytes: stats.pagesWritten * stats.pageSize, ms: Math.round(performance.now() - startedMs) };
    rounds.push({ ...round, startedMs });
    report.push(round);
    parent = String(n);
    session.checkCancelled();

    const fallback = session.strategyChoice?.fallback;
    if (fallback && n === 2) {
      const { link, dirty } = rates(rounds);
      if (dirty >= link) {
        const why = `it dirtied memory at ${mibPerS(dirty)} while the link copied ${mibPerS(link)}`;
        return switchTo(session, fallback, why);
      }
    }
    stopped = stopAfter(report, limits);
  }
  session.result.roundsStopped = stopped;
  session.result.options.push(...checkpoint.preCopyOptions());

  session.progress('dump', `freezing process ${pid} on ${from} and checkpointing what changed since round ${parent}`);
  const pages = await receive('final'); // up before the freeze, as stop-and-copy's
  await session.freeze();
  const finalStart = performance.now();
  const stats = await session.timeline.phase('dump', () =>
    checkpoint.dump(session.source, pid, `${sourceDir}/final`, session.plan, tunnel.socket, { parent }),
  );

  session.progress('transfer', `sending the remaining images to ${to}`);
  const closing = await session.timeline.phase('transfer', () => session.sendRemainingImages(pages.done, tunnel, `${sourceDir}/final`, `${destinationDir}/final`));
  if (stats) {
    const bytes = stats.pagesWritten * stats.pageSize;
    report.push({ round: rounds.length + 1, pages: stats.pagesWritten, bytes, ms: Math.round(performance.now() - finalStart), final: true });
  }
  session.checkCancelled();

  session.progress('restore', `restoring the process on ${to} from ${rounds.length + 1} rounds of images`);
  const restored = await session.timeline.phase('restore', () => checkpoint.restore(session.destination, `${destinationDir}/final`, session.plan));
  await session.verify(restored);
  await closing;
  await session.commit();
  await session.removeImages();
}

/** Auto's pre-copy that cannot catch up: nothing is frozen yet, so what the rounds set up is
 * undone (page server, tunnel, images) and auto's other choice runs instead. */
async function switchTo(session: MigrationSession, fallback: StrategyChoice, why: string): Promise<void> {
  session.progress('rounds', `${why}: pre-copy could not catch up, so ${fallback.strategy} runs instead`);
  for (const failure of await session.rollback.run()) session.deps.log(`rollback: ${failure}`);
  session.result.roundsStopped = `abandoned: ${why}`;
  session.result.strategy = fallback.strategy;
  session.result.strategyReason = `${fallback.reason} (pre-copy was tried first, but ${why})`;
  session.result.transfer = undefined;
  await (fallback.strategy === 'post-copy' ? postCopy : stopAndCopy)(session);
}

async function resumeIfLeftStopped(session: MigrationSession): Promise<void> {
  // A tree stopped before the migration (job control) stays as it was.
  if (session.inspection.tasks[0]?.state.startsWith('T')) return;
  const state = await session.source.run(['state', String(session.request.pid)]).catch(() => '');
  if (state.trim() === 'stopped') await session.resumeSource().catch(() => undefined);
}

function mibPerS(bytesPerMs: number): string {
  return `${Math.round((bytesPerMs * 1000) / (1 << 20))} MiB/s`;
}
