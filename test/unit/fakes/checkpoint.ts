// Fakes of the checkpoint layer (src/checkpoint/engine.ts) for the migration layer above it.
import type { CheckpointEngine, DumpStats, LazyPageFetcher, PageService } from '../../../src/checkpoint/engine';
import type { HostHelper } from '../../../src/helper/hostHelper';

/** One scripted pre-copy round: its pages, an error it fails with, or pages after a delay. */
export type Step = number | Error | { pages: number; delayMs: number };

/** A checkpoint engine whose rounds write the scripted page counts (or fail); `restore` gives
 * back `restoredPid`. Its calls are recorded with short image directories (`short`). */
export class FakeEngine implements CheckpointEngine {
  readonly name = 'fake';
  readonly anonInodeKinds = [];
  readonly calls: string[] = [];
  readonly stopped: string[] = [];
  finalDump: number | Error = 50;

  constructor(
    private readonly script: Step[],
    private readonly restoredPid: number,
  ) {}

  hostProblems() {
    return [];
  }
  postCopyProblem() {
    return undefined;
  }
  preCopyProblem() {
    return undefined;
  }
  plan() {
    return { dump: [], restore: [] };
  }
  preCopyOptions() {
    return [{ option: 'pre-dump', reason: 'rounds' }];
  }

  async receivePages(_h: HostHelper, dir: string, _socket: string, options: { parent?: string } = {}): Promise<PageService> {
    this.calls.push(`receive ${short(dir)} parent=${options.parent ?? '-'}`);
    return { done: Promise.resolve(), stop: async () => void this.stopped.push(short(dir)) };
  }

  async preDump(_h: HostHelper, _pid: number, dir: string, _plan: unknown, _socket: string, options: { parent?: string } = {}): Promise<DumpStats> {
    this.calls.push(`pre-dump ${short(dir)} parent=${options.parent ?? '-'}`);
    const step = this.script.shift();
    if (step === undefined) throw new Error('more rounds than scripted');
    if (step instanceof Error) throw step;
    const pages = typeof step === 'number' ? step : step.pages;
    if (typeof step !== 'number') await new Promise((r) => setTimeout(r, step.delayMs));
    return { pagesWritten: pages, pagesScanned: pages * 2, pagesSkipped: 0, pageSize: 4096 };
  }

  async dump(_h: HostHelper, _pid: number, dir: string, _plan: unknown, _socket: string, options?: { parent?: string }): Promise<DumpStats | void> {
    this.calls.push(`dump ${short(dir)} parent=${options?.parent ?? '-'}`);
    if (this.finalDump instanceof Error) throw this.finalDump;
    return { pagesWritten: this.finalDump, pagesScanned: 0, pagesSkipped: 0, pageSize: 4096 };
  }

  async dumpLazily(): Promise<PageService> {
    throw new Error('not in these tests');
  }
  async fetchPagesLazily(): Promise<LazyPageFetcher> {
    throw new Error('not in these tests');
  }

  async restore(_h: HostHelper, dir: string) {
    this.calls.push(`restore ${short(dir)}`);
    return { pid: this.restoredPid };
  }
}

/** `/var/tmp/process-migrator/img.lab-b/3` → `b/3`. */
export function short(dir: string): string {
  return dir.replace(/^.*img\.lab-/, '');
}
