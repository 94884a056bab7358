// Picks how a process moves, from what it is and what the hosts can do. The reason is shown to
// the user in the report.
import type { ChosenOption } from '../checkpoint/engine';
import type { Strategy } from './api';

export interface StrategyChoice {
  strategy: Exclude<Strategy, 'auto'>;
  reason: string;
  /** Auto's pre-copy only: what runs instead when its first rounds show the process dirties
   * memory faster than the link copies it (then the rounds could never catch up). */
  fallback?: StrategyChoice;
}

export interface StrategyInput {
  requested: Strategy;
  /** Resident memory of the whole tree. */
  rssKiB: number;
  /** Why post-copy cannot run between these hosts, if it cannot. */
  postCopyProblem?: string;
  /** Why pre-copy cannot run between these hosts (no soft-dirty tracking), if it cannot. */
  preCopyProblem?: string;
}

/** Below this, post-copy saves a few tenths of a second of freeze (bench/: 0.22 s against 0.53 s
 * for stop-and-copy at 64 MiB) for a phase that cannot be undone (the pages still on the
 * source while the process runs on the destination): not worth it. */
export const POST_COPY_MIN_RSS_KIB = 128 * 1024;

/** Below this the rounds cost more than the freeze they save (the same size post-copy starts at). */
export const PRE_COPY_MIN_RSS_KIB = 128 * 1024;

export function chooseStrategy(input: StrategyInput): StrategyChoice {
  const { requested, rssKiB, postCopyProblem, preCopyProblem } = input;
  const mib = Math.round(rssKiB / 1024);

  if (requested === 'stop-and-copy') return { strategy: 'stop-and-copy', reason: 'requested' };
  if (requested === 'post-copy') {
    return postCopyProblem
      ? { strategy: 'stop-and-copy', reason: `post-copy was requested but ${postCopyProblem}; fell back to stop-and-copy` }
      : { strategy: 'post-copy', reason: 'requested' };
  }
  if (requested === 'pre-copy') {
    if (!preCopyProblem) return { strategy: 'pre-copy', reason: 'requested' };
    if (!postCopyProblem) return { strategy: 'post-copy', reason: `${preCopyProblem}; post-copy keeps the freeze as short instead` };
    return { strategy: 'stop-and-copy', reason: `${preCopyProblem}, and ${postCopyProblem}; fell back to stop-and-copy` };
  }

  const otherwise = withoutPreCopy(input);
  if (rssKiB < PRE_COPY_MIN_RSS_KIB) return otherwise;
  if (preCopyProblem) return { ...otherwise, reason: `${otherwise.reason}; not pre-copy: ${preCopyProblem}` };
  return {
    strategy: 'pre-copy',
    reason:
      `the process holds ${mib} MiB and both kernels track dirty memory: pre-copy copies it while it runs and freezes it only for what changed since, ` +
      `with nothing that cannot be undone; should it dirty memory faster than the link copies it, ${otherwise.strategy} runs instead`,
    fallback: otherwise,
  };
}

/** Auto's choice between stop-and-copy and post-copy. */
function withoutPreCopy({ rssKiB, postCopyProblem }: StrategyInput): StrategyChoice {
  const mib = Math.round(rssKiB / 1024);
  if (postCopyProblem) return { strategy: 'stop-and-copy', reason: `post-copy is unavailable: ${postCopyProblem}` };
  if (rssKiB < POST_COPY_MIN_RSS_KIB) {
    return { strategy: 'stop-and-copy', reason: `the process is small (${mib} MiB): copying it all while frozen is as fast as post-copy and has no phase that cannot be undone` };
  }
  return {
    strategy: 'post-copy',
    reason: `the process holds ${mib} MiB: with post-copy it runs on the destination after only its non-memory state moved, and pages follow on demand`,
  };
}

/** From this size stop-and-copy moves the memory straight into the restored process, held
 * stopped until the last page arrived, instead of through an image file on the destination. The
 * file is a second copy of the memory there, written and read back while the process is frozen.
 * Back to back on the lab (a warm engine), the image file was ~0.1 s ahead at 512 MiB, the two
 * were even at 1 GiB, and at 2 GiB straight in took 8.0–8.8 s in all against 11.1–13.8 s. */
export const INTO_PROCESS_MIN_RSS_KIB = 1024 * 1024;

export interface MemoryWayInput {
  rssKiB: number;
  /** Why lazy pages (post-copy's machinery) cannot run between these hosts, if they cannot. */
  postCopyProblem?: string;
  /** A terminal's restore runs CRIU in the foreground inside tmux, which does not hold it. */
  terminal: boolean;
  /** Stopped before the migration: it stays so, and only the image way leaves that alone. */
  stoppedBefore: boolean;
}

/** Stop-and-copy's way for the memory: the option to report when it goes straight into the
 * restored process, or nothing when it goes through image files. */
export function chooseMemoryWay({ rssKiB, postCopyProblem, terminal, stoppedBefore }: MemoryWayInput): ChosenOption | undefined {
  if (!(rssKiB >= INTO_PROCESS_MIN_RSS_KIB) || postCopyProblem || terminal || stoppedBefore) return undefined;
  return {
    option: 'restore --lazy-pages --leave-stopped',
    reason:
      `the process holds ${Math.round(rssKiB / 1024)} MiB: its memory goes straight into the restored copy, which stays stopped until the last page arrived, ` +
      'instead of into an image file on the destination that would hold a second copy of it',
  };
}
