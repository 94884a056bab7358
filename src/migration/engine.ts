// The engine the CLI and the extension share: hosts, the checkpoint engine, and migrations.
import { parseCapabilities } from '../helper/capabilities';
import { CriuEngine } from '../checkpoint/criu';
import { CheckpointError, type CheckpointEngine, type CheckpointFailureKind } from '../checkpoint/engine';
import { HostHelper } from '../helper/hostHelper';
import { setUpHost } from '../checkpoint/hostSetup';
import { parseProcessList } from '../helper/processList';
import type { RunningCommand } from '../transport/host';
import { HostPool } from '../transport/hostPool';
import type {
  BatchRequest,
  BatchResult,
  Engine,
  EngineOptions,
  Feasibility,
  HostReport,
  HostState,
  MigrateOptions,
  MigrationRequest,
  MigrationResult,
  PortForwarding,
  ProcessInfo,
  SetUpOptions,
  RunRequest,
  RunResult,
  TerminalRef,
} from './api';
import { sleep } from '../common/sleep';
import { Barrier, FreezeSlots } from './barrier';
import { BatchLinks, type BatchLink } from './batchLinks';
import { chooseFreezeSlots, type SlotChoice } from './freezeSlots';
import * as hostProcesses from './hostProcesses';
import { forwardPorts } from './portForwarding';
import { PreflightError, sentenceFor } from './errors';
import { measureHost, measureLink, treeCores } from './hostMeasure';
import { treeRssKiB } from './preflight';
import { runMigrationReady } from './run';
import { RoutePool } from './routePool';
import { MigrationSession, type HostSource } from './session';
import { standbyProtection } from './standby';
import { runStrategy } from './strategies';

/** Parallel migrations share a few SSH connections per host: one each would hit sshd's
 * MaxStartups when many connect at once, and one for all would hit its MaxSessions. */
const MIGRATIONS_PER_CONNECTION = 2;

/** Restore failures a second preflight checks for, before any freeze: worth one more try. */
const PREFLIGHT_CHECKS = new Set<CheckpointFailureKind>(['file-missing', 'file-size']);

/** A host's CPU use is a rate between two readings this far apart: beside a batch's first freeze. */
const SLOT_READINGS_APART_MS = 300;

/** Runs `batch` over `count` pools: `pool`, and extra ones opened for this batch alone (kept in
 * `live` while it runs) and closed when it ends, so a batch leaves only `pool`'s connections. */
export async function withBatchPools<P extends { close(): Promise<void> }, T>(
  pool: P,
  count: number,
  open: () => P,
  live: Set<P>,
  batch: (pools: P[]) => Promise<T>,
): Promise<T> {
  const extra = Array.from({ length: Math.max(0, count - 1) }, open);
  for (const p of extra) live.add(p);
  try {
    return await batch([pool, ...extra]);
  } finally {
    for (const p of extra) live.delete(p);
    await Promise.allSettled(extra.map((p) => p.close()));
  }
}

/** The hosts' connections, shared by the engine's migrations (tests give fakes). */
export type Pool = Pick<HostPool, 'get' | 'close' | 'onConnectionChange'>;

export function createEngine(options: EngineOptions = {}, checkpoint: CheckpointEngine = new CriuEngine(), newPool: (options: EngineOptions) => Pool = (o) => new HostPool(o)): Engine {
  const pool = newPool(options);
  /** The extra pools of the batches under way. */
  const batchPools = new Set<Pool>();
  const log = options.log ?? (() => undefined);
  const helper = async (host: string) => HostHelper.for(await pool.get(host));
  const listProcesses = async (host: string) => parseProcessList(await (await helper(host)).run(['ps']));
  const routes = new RoutePool(helper, log);

  async function migrateOne(request: MigrationRequest, hosts: HostSource, migrateOptions?: MigrateOptions, link?: BatchLink, retried = false): Promise<MigrationResult> {
    // A readied route runs on the engine's own connections: a batch's other pools make their own.
    const session = new MigrationSession({ hosts, checkpoint, log, routes: hosts === pool ? routes : undefined }, request, migrateOptions, link);
    let failure: unknown;
    try {
      session.checkCancelled();
      await session.connect();
      session.prepareEarly();
      await session.preflight();
      const choice = session.chooseStrategy();
      session.checkCancelled();
      await runStrategy(session, choice);
    } catch (err) {
      failure = err;
      await session.fail(err);
    }
    const result = session.finish();
    // A file the preflight did not see open (the process opened it just before the freeze, as a
    // shell's `echo > file` does for an instant) is missing at the restore, or of another size
    // there: the source runs on, and one more try preflights what it has open now (and refuses
    // before any freeze should it still differ). Not for trees linked by connections, which
    // freeze together.
    if (!retried && !link?.linked && result.rolledBack && failure instanceof CheckpointError && PREFLIGHT_CHECKS.has(failure.kind) && !migrateOptions?.signal?.aborted) {
      log(`[${request.from}→${request.to} ${request.pid}] retrying once: ${result.error}`);
      migrateOptions?.onProgress?.({ phase: 'preflight', message: `trying once more: ${result.error}` });
      return migrateOne(request, hosts, migrateOptions, link, true);
    }
    return result;
  }

  /** The full preflight against `request.to`, nothing touched; the tree's CPU use is sampled
   * across it (two `tree-use` readings), so it costs no extra wait. */
  async function checkFeasible(request: MigrationRequest, feasibleOptions?: Pick<MigrateOptions, 'signal'>): Promise<Feasibility> {
    const session = new MigrationSession({ hosts: pool, checkpoint, log }, request, { signal: feasibleOptions?.signal });
    const source = await helper(request.from).catch(() => undefined);
    const use = () => source?.run(['tree-use', String(request.pid)]).catch(() => '');
    const first = await use();
    try {
      await session.connect();
      const inspection = await session.preflight();
      const second = await use();
      return { host: request.to, feasible: true, problems: [], rssKiB: treeRssKiB(inspection), cpuCores: first && second ? treeCores(first, second) : 0 };
    } catch (err) {
      return { host: request.to, feasible: false, problems: err instanceof PreflightError ? err.problems : [sentenceFor(err)] };
    }
  }

  async function checkHost(host: string): Promise<HostReport> {
    try {
      const caps = parseCapabilities(host, await (await helper(host)).run(['caps']));
      const notes = checkpoint.hostNotes?.(caps) ?? [];
      return { host, reachable: true, capabilities: caps, problems: checkpoint.hostProblems(caps), ...(notes.length ? { notes } : {}) };
    } catch (err) {
      return { host, reachable: false, problems: [sentenceFor(err)] };
    }
  }

  return {
    listProcesses: (host: string): Promise<ProcessInfo[]> => listProcesses(host),

    checkHost,
    checkFeasible,
    measureHost: async (host, previous) => measureHost(await helper(host), host, previous),
    measureLink: async (from, to, port) => {
      const [source, target] = await Promise.all([helper(from), pool.get(to)]);
      return measureLink(source, target, port);
    },

    async setUpHost(host: string, setUpOptions?: SetUpOptions) {
      const connected = await pool.get(host);
      const steps = await setUpHost(connected, setUpOptions);
      // A group the user was just added to holds for new logins only: log in again.
      if (!connected.isLocal) await connected.close();
      return { steps, report: await checkHost(host) };
    },

    prepareRoute: (from: string, to: string) => routes.prepare(from, to),

    migrate(request: MigrationRequest, migrateOptions?: MigrateOptions): Promise<MigrationResult> {
      return migrateOne(request, pool, migrateOptions);
    },

    async migrateMany(request: BatchRequest, migrateOptions: MigrateOptions = {}): Promise<BatchResult> {
      const started = performance.now();
      const roots = await treeRoots(request);
      // Every process is prepared (connected, checked, destination ready) before any is frozen,
      // then they freeze as freeze slots allow: each one's freeze stays near a lone one's.
      const barrier = new Barrier(roots.length);
      let slotChoice: Promise<SlotChoice> | undefined;
      const slots = new FreezeSlots(() => (slotChoice = measureSlots(request.from, request.to, roots.length)).then((c) => c.count));
      // Loopback connections between the trees (a debuggee and its debugpy adapter) are kept.
      const links = new BatchLinks(roots.length);
      const connections = Math.max(1, Math.ceil(roots.length / MIGRATIONS_PER_CONNECTION));
      const processes = await withBatchPools(pool, connections, () => newPool(options), batchPools, (pools) => Promise.all(
        roots.map((pid, i) => {
          const party = barrier.party();
          const slot = slots.slot();
          const beforeFreeze = async () => {
            await party.arrive();
            // Trees linked by connections must be frozen together; the others take turns.
            if (!links.linked) await slot.acquire();
          };
          return migrateOne(
            { pid, from: request.from, to: request.to, strategy: request.strategy },
            pools[i % pools.length],
            { ...migrateOptions, beforeFreeze, afterThaw: slot.release },
            links.party(),
          ).finally(() => {
            party.leave();
            slot.release();
          });
        }),
      ));
      const failed = processes.filter((p) => !p.ok);
      return {
        ok: failed.length === 0,
        from: request.from,
        to: request.to,
        freezeMs: Math.max(0, ...processes.map((p) => p.freezeMs)),
        totalMs: Math.round(performance.now() - started),
        bytes: processes.reduce((sum, p) => sum + p.bytes, 0),
        processes,
        ...(slotChoice ? { freezeSlots: await slotChoice } : {}),
        error: failed.length ? failed.map((p) => `Process ${p.sourcePid}: ${p.error}`).join(' ') : undefined,
      };
    },

    async attachTerminal(terminal: TerminalRef, size: { rows: number; cols: number }): Promise<RunningCommand> {
      const host = await pool.get(terminal.host);
      // Here the caller has a terminal of its own to run `terminal.attach` in; a pty needs SSH.
      if (host.isLocal) throw new Error(`The process runs in tmux session ${terminal.session} on this machine: run \`${terminal.attach.join(' ')}\` in a terminal.`);
      const h = HostHelper.for(host);
      await h.ensureInstalled();
      return h.spawn(['tty-attach', terminal.session], { pty: { ...size, term: 'xterm-256color' } });
    },

    run: (request: RunRequest): Promise<RunResult> => runMigrationReady(() => helper(request.host), request),

    tracerOf: async (host, pid) => hostProcesses.tracerOf(await helper(host), pid),
    stopTracer: async (traced) => hostProcesses.stopTracer(await helper(traced.host), traced),
    processState: async (host, pid) => hostProcesses.processState(await helper(host), pid),
    protection: standbyProtection({ hosts: pool, checkpoint, log }),
    listenerOf: async (host, port) => hostProcesses.listenerOf(await helper(host), port),
    fromLogin: async (host, pids) => hostProcesses.fromLogin(await helper(host), pids),

    async forwardPorts(origin: string, destination: string, ports: number[]): Promise<PortForwarding> {
      const [o, d] = await Promise.all([pool.get(origin), pool.get(destination)]);
      return forwardPorts(o, d, ports);
    },

    onConnectionChange: (listener) => pool.onConnectionChange((c) => listener({ host: c.host, connected: c.connected, ...(c.error ? { reason: c.error.message } : {}) })),

    dispose: async () => {
      await routes.close();
      await Promise.all([pool, ...batchPools].map((p) => p.close()));
    },
  };

  /** How many processes of a batch to freeze at once (freezeSlots.ts), from two readings of
   * each host while its first process is frozen (CPU use as a rate, without the preparation's). */
  async function measureSlots(from: string, to: string, processes: number): Promise<SlotChoice> {
    const states = await Promise.all(
      [from, to].map(async (host) => {
        try {
          const h = await helper(host);
          const first = await measureHost(h, host);
          await sleep(SLOT_READINGS_APART_MS);
          return await measureHost(h, host, first);
        } catch {
          return undefined; // the sessions report what is wrong with the host
        }
      }),
    );
    return chooseFreezeSlots(states.filter((s): s is HostState => !!s), processes);
  }

  /** Drops PIDs that are inside another requested PID's tree: they move with it. */
  async function treeRoots(request: BatchRequest): Promise<number[]> {
    const unique = [...new Set(request.pids)];
    if (unique.length < 2) return unique;
    const parents = new Map((await listProcesses(request.from)).map((p) => [p.pid, p.ppid]));
    const requested = new Set(unique);
    return unique.filter((pid) => {
      for (let p = parents.get(pid); p && p > 1; p = parents.get(p)) if (requested.has(p)) return false;
      return true;
    });
  }
}
