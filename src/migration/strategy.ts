// Picks how a process moves, from what it is and what the hosts can do. The reason is shown to
// the user in the report.
import type { ParsedCapabilities } from '../checkpoint/capabilities';
import type { Strategy } from './api';

export interface StrategyChoice {
  strategy: Exclude<Strategy, 'auto'>;
  reason: string;
}

export interface StrategyInput {
  requested: Strategy;
  /** Resident memory of the whole tree. */
  rssKiB: number;
  source: ParsedCapabilities;
  destination: ParsedCapabilities;
  /** Why post-copy cannot run between these hosts, if it cannot. */
  postCopyProblem?: string;
}

/** Below this, post-copy saves under a second of freeze (bench/: ~1 s flat for post-copy, ~2 s
 * for stop-and-copy at 64 MiB) but adds seconds of page transfer: not worth it. */
export const POST_COPY_MIN_RSS_KIB = 128 * 1024;

export function chooseStrategy(input: StrategyInput): StrategyChoice {
  const { requested, rssKiB, source, destination, postCopyProblem } = input;
  const mib = Math.round(rssKiB / 1024);
  const dirtyTracking = source.features.mem_dirty_track && destination.features.mem_dirty_track;

  if (requested === 'stop-and-copy') return { strategy: 'stop-and-copy', reason: 'requested' };
  if (requested === 'post-copy') {
    return postCopyProblem
      ? { strategy: 'stop-and-copy', reason: `post-copy was requested but ${postCopyProblem}; fell back to stop-and-copy` }
      : { strategy: 'post-copy', reason: 'requested' };
  }
  if (requested === 'pre-copy') {
    const why = dirtyTracking
      ? 'pre-copy is not implemented in this version'
      : `pre-copy needs soft-dirty memory tracking, which ${source.features.mem_dirty_track ? destination.host : source.host}'s kernel lacks`;
    if (!postCopyProblem) return { strategy: 'post-copy', reason: `${why}; post-copy keeps the freeze as short instead` };
    return { strategy: 'stop-and-copy', reason: `${why}, and ${postCopyProblem}; fell back to stop-and-copy` };
  }

  // auto
  if (postCopyProblem) return { strategy: 'stop-and-copy', reason: `post-copy is unavailable: ${postCopyProblem}` };
  if (rssKiB < POST_COPY_MIN_RSS_KIB) {
    return { strategy: 'stop-and-copy', reason: `the process is small (${mib} MiB): copying it all while frozen is as fast as post-copy and has no phase that cannot be undone` };
  }
  return {
    strategy: 'post-copy',
    reason: `the process holds ${mib} MiB: with post-copy it runs on the destination after only its non-memory state moved, and pages follow on demand`,
  };
}
