// Fakes of a migration session's neighbours: hosts whose helper answers from a script (every
// command recorded), and a checkpoint engine that records each call and fails where told.
import { PassThrough } from 'node:stream';
import type { ParsedCapabilities } from '../../../src/helper/capabilities';
import type { CheckpointEngine, CheckpointPlan, DumpStats, LazyPageFetcher, PageService, RestoredProcess } from '../../../src/checkpoint/engine';
import type { HostHelper } from '../../../src/helper/hostHelper';
import type { ProcessInspection } from '../../../src/helper/inspection';
import type { Strategy } from '../../../src/migration/api';
import type { PreflightRunner } from '../../../src/migration/preflightRun';
import { MigrationSession } from '../../../src/migration/session';
import { runStrategy } from '../../../src/migration/strategies';
import type { ExecResult, Host, RunningCommand } from '../../../src/transport/host';

/** A host whose helper answers `answers[command]` (stdout), or fails with `failing[command]`
 * (stderr, exit 1); `mkimages` makes a new directory each time; `state`/`verify` say `state`. */
export class ScriptedHost implements Host {
  readonly isLocal = true;
  readonly commands: string[][] = [];
  state = 'running';
  readonly answers: Record<string, string> = {};
  readonly failing: Record<string, string> = {};
  /** Answers before `answers` when it returns a string (per argument, e.g. per PID). */
  respond?: (args: string[]) => string | undefined;
  private images = 0;

  constructor(readonly name: string) {}

  private helperArgs(argv: readonly string[]): string[] {
    return argv.slice(argv.indexOf('procmig-helper') + 1);
  }

  async exec(argv: readonly string[]): Promise<ExecResult> {
    const args = this.helperArgs(argv);
    this.commands.push(args);
    const command = args[0] ?? '';
    if (command in this.failing) return { code: 1, stdout: '', stderr: `${this.failing[command]}\n` };
    const response = this.respond?.(args);
    if (response !== undefined) return { code: 0, stdout: response, stderr: '' };
    if (command in this.answers) return { code: 0, stdout: this.answers[command], stderr: '' };
    if (command === 'mkimages') return { code: 0, stdout: `dir=/var/tmp/process-migrator/img.${++this.images}\n`, stderr: '' };
    if (command === 'state' || command === 'verify') return { code: 0, stdout: `${this.state}\n`, stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  }

  spawn(argv: readonly string[]): RunningCommand {
    const args = this.helperArgs(argv);
    this.commands.push(args);
    const [stdin, stdout, stderr] = [new PassThrough(), new PassThrough(), new PassThrough()];
    let end!: (code: number) => void;
    const exited = new Promise<{ code: number | null }>((resolve) => (end = (code) => resolve({ code })));
    if (['guard', 'tar-in', 'tmpfs-in'].includes(args[0] ?? '')) {
      stdin.on('finish', () => end(0));
      stdin.resume();
    } else {
      stdout.end();
      setImmediate(() => end(0));
    }
    return { stdin, stdout, stderr, exited, kill: () => end(143) };
  }

  async listen() {
    return { port: 50000, close: async () => undefined };
  }
  async connect(): Promise<never> {
    throw new Error('no connections in these tests');
  }
  async close() {}

  /** The helper commands named `name`, each as its arguments. */
  ran(name: string): string[][] {
    return this.commands.filter((c) => c[0] === name);
  }

  /** How often the tree was sent `signal` (`CONT`, `KILL`). */
  signals(signal: string): number {
    return this.ran('signal-tree').filter((c) => c[1] === signal).length;
  }
}

export type EngineStep = 'receive' | 'dump' | 'restore' | 'dumpLazily' | 'fetchPagesLazily' | 'pager.start' | 'pages';

/** A checkpoint engine that does nothing but record its calls (`dump a-dir`, …); each step in
 * `failing` rejects with that error instead, `pages` being the post-copy pages' moving. */
export class RecordingCheckpoint implements CheckpointEngine {
  readonly name = 'fake';
  readonly anonInodeKinds = [];
  readonly calls: string[] = [];
  /** The services stopped (rollback), by what they are. */
  readonly stopped: string[] = [];
  readonly failing: Partial<Record<EngineStep, Error>> = {};
  restoredPid = 5151;

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
    return { dump: [{ option: '--shell-job', reason: 'fake' }], restore: [] };
  }
  preCopyOptions() {
    return [];
  }

  private step(step: EngineStep, what: string): void {
    this.calls.push(what);
    const failure = this.failing[step];
    if (failure) throw failure;
  }

  private service(what: string, done: Promise<void> = Promise.resolve()): PageService {
    done.catch(() => undefined);
    return { done, stop: async () => void this.stopped.push(what) };
  }

  async receivePages(h: HostHelper): Promise<PageService> {
    this.step('receive', `receive on ${h.host.name}`);
    return this.service('page server');
  }
  async dump(h: HostHelper, pid: number): Promise<DumpStats | void> {
    this.step('dump', `dump ${pid} on ${h.host.name}`);
  }
  async preDump(): Promise<DumpStats> {
    throw new Error('not in these tests');
  }
  async dumpLazily(h: HostHelper, pid: number): Promise<PageService> {
    this.step('dumpLazily', `dump lazily ${pid} on ${h.host.name}`);
    const failure = this.failing.pages;
    return this.service('page source', failure ? Promise.reject(failure) : Promise.resolve());
  }
  async fetchPagesLazily(h: HostHelper): Promise<LazyPageFetcher> {
    this.step('fetchPagesLazily', `lazy pages on ${h.host.name}`);
    return { ...this.service('lazy pages'), start: async () => this.step('pager.start', 'lazy pages start') };
  }
  async restore(h: HostHelper, _dir: string, _plan: unknown, options?: { lazy?: boolean; leaveStopped?: boolean }): Promise<RestoredProcess> {
    this.step('restore', `restore on ${h.host.name}${options?.lazy ? ' lazily' : ''}${options?.leaveStopped ? ', left stopped' : ''}`);
    return { pid: this.restoredPid };
  }
}

/** A preflight that passed for a tree of `tasks` (root first), planned as `plan`: for
 * `session.preflight({ run: () => … })`. */
export function passedPreflight(plan: CheckpointPlan, tasks: { pid: number; state: string; rssKiB?: number }[] = [{ pid: 4242, state: 'S' }]): PreflightRunner {
  return async () => ({
    sourceCaps: {} as ParsedCapabilities,
    destinationCaps: {} as ParsedCapabilities,
    inspection: { tasks } as unknown as ProcessInspection,
    plan,
    carried: [],
    listeningPorts: [],
    options: [...plan.dump, ...plan.restore],
  });
}

/** A session between two scripted hosts, connected and past its preflight; `migrate()` runs
 * `strategy` on it as the engine does (rolling back on failure) and returns the result. */
export async function fakeSession(from = 'lab-a', to = 'lab-b', strategy: Exclude<Strategy, 'auto'> = 'stop-and-copy', rssKiB?: number) {
  const [a, b] = [new ScriptedHost(from), new ScriptedHost(to)];
  const engine = new RecordingCheckpoint();
  const hosts = { get: async (name: string) => (name === from ? a : b) };
  const log: string[] = [];
  const progress: string[] = [];
  const session = new MigrationSession({ hosts, checkpoint: engine, log: (l) => log.push(l) }, { pid: 4242, from, to, strategy }, { onProgress: (p) => progress.push(p.phase) });
  await session.connect();
  await session.preflight({ run: passedPreflight(engine.plan(), [{ pid: 4242, state: 'S', ...(rssKiB ? { rssKiB } : {}) }]) });
  const migrate = async () => {
    try {
      await runStrategy(session, { strategy, reason: 'requested' });
    } catch (err) {
      await session.fail(err);
    }
    return session.finish();
  };
  return { session, engine, a, b, log, progress, migrate };
}
