// What the engine does for placement: the hosts' measured state (hostStates.ts) probed through
// their helpers, every candidate's full preflight (preflightRun.ts), the ranking (placement.ts),
// and `migrate --to auto`: place, then move there.
import type { CheckpointEngine } from '../../checkpoint/engine';
import type { HostHelper } from '../../helper/hostHelper';
import { parseHostState, parseTreeUse } from '../../helper/hostState';
import type { ProcessInfo } from '../../helper/processList';
import type { MigrateOptions, MigrationRequest, MigrationResult, Placement, PlacementRequest } from '../api';
import { HostStates } from './hostStates';
import { placeProcess, processFacts, type ProcessFacts } from './placement';
import { runPreflight, type PreflightRunner } from '../preflightRun';

export interface AutoPlacementDeps {
  helper(host: string): Promise<HostHelper>;
  listProcesses(host: string): Promise<ProcessInfo[]>;
  checkpoint: CheckpointEngine;
  /** The hosts to choose among by default (the source is left out). */
  configuredHosts(): string[];
  /** Tests give another. */
  preflight?: PreflightRunner;
}

export class AutoPlacement {
  readonly states: HostStates;

  constructor(private readonly deps: AutoPlacementDeps) {
    this.states = new HostStates({
      probe: async (host) => {
        const helper = await deps.helper(host);
        // A trivial round trip (`true`, not the helper, whose parse costs more than the link):
        // the link's RTT, without the cost of the measurement itself.
        const started = performance.now();
        await helper.host.exec(['true']);
        const rttMs = performance.now() - started;
        return { sample: parseHostState(await helper.run(['host-state'])), rttMs };
      },
    });
  }

  candidatesFor(request: PlacementRequest): string[] {
    const hosts = request.candidates?.length ? request.candidates : this.deps.configuredHosts();
    return [...new Set(hosts)].filter((h) => h !== request.from && h !== 'auto');
  }

  place(request: PlacementRequest, options: MigrateOptions = {}): Promise<Placement> {
    const { pid, from } = request;
    const run = this.deps.preflight ?? runPreflight;
    return placeProcess(this.candidatesFor(request), {
      process: () => this.processFacts(pid, from),
      states: (hosts) => this.states.states(hosts),
      preflight: async (to) => {
        const [source, destination] = await Promise.all([this.deps.helper(from), this.deps.helper(to)]);
        // No tracer is stopped for a mere look: a traced process is reported as such.
        const context = { checkpoint: this.deps.checkpoint, options: { signal: options.signal }, progress: () => undefined, checkCancelled: () => options.signal?.throwIfAborted() };
        await run(source, destination, { pid, from, to }, context);
      },
      mibPerSec: (a, b) => this.states.link(a, b)?.mibPerSec,
    });
  }

  /** What the process uses lately (sampled now), else ps's lifetime averages; a process that is
   * not there is the preflight's to report. */
  private async processFacts(pid: number, from: string): Promise<ProcessFacts> {
    try {
      return { pid, from, ...parseTreeUse(await (await this.deps.helper(from)).run(['tree-use', String(pid)])) };
    } catch {
      return processFacts(pid, from, await this.deps.listProcesses(from).catch(() => []));
    }
  }

  /** `to: 'auto'`: places the process, then moves it there; the result carries the placement. */
  async migrate(request: MigrationRequest, options: MigrateOptions, migrate: (request: MigrationRequest) => Promise<MigrationResult>): Promise<MigrationResult> {
    const started = performance.now();
    const placement = await this.place({ pid: request.pid, from: request.from, candidates: request.candidates }, options);
    if (!placement.to) {
      return {
        ok: false,
        from: request.from,
        to: request.to,
        sourcePid: request.pid,
        strategy: 'stop-and-copy',
        strategyReason: '',
        phases: {},
        freezeMs: 0,
        totalMs: Math.round(performance.now() - started),
        bytes: 0,
        options: [],
        startedAt: new Date().toISOString(),
        error: placement.reason,
        rolledBack: true,
        placement,
      };
    }
    options.onProgress?.({ phase: 'preflight', message: placement.reason });
    return { ...(await migrate({ ...request, to: placement.to })), placement };
  }

  /** Learns the link's MiB/s from a finished migration. */
  learn(result: MigrationResult): MigrationResult {
    this.states.recordTransfer(result);
    return result;
  }

  dispose(): void {
    this.states.dispose();
  }
}
