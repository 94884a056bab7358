// The Processes view's model: which hosts there are, whether they answer, their processes and their
// last check. It does all the I/O (through the engine); the tree provider only maps it to items.
// Host-free (no vscode import), so it can be tested with a fake engine.
import type { ConnectionChange, Engine, HostReport, ProcessInfo } from '../../migration/api';
import { buildProcessForest, NO_FILTER, type ProcessFilter, type ProcessNode } from '../common/processForest';

export const LOCAL_HOST = 'local';

/** `disconnected`: it answered, then its connection dropped; the next action reconnects. */
export type Reachability = 'unknown' | 'loading' | 'reachable' | 'unreachable' | 'disconnected';

export interface HostState {
  readonly name: string;
  reachability: Reachability;
  processes?: ProcessInfo[];
  /** Why listing failed (one sentence from the engine). */
  error?: string;
  /** The last `checkHost` answer. */
  report?: HostReport;
  checking: boolean;
  loadedAt?: number;
  /** When the connection dropped, and the transport's reason (if it gave one). */
  dropped?: { at: number; reason?: string };
}

export interface ProcessModelOptions {
  engine: Engine;
  /** Host names besides `local`, in display order (ssh_config hosts, then the setting's). */
  listHosts: () => string[];
  /** UID of the user the extension host runs as ("mine"). */
  myUid: number;
  log?: (line: string) => void;
}

/** Listener argument: the host whose state changed, or undefined when the host list changed. */
export type ModelListener = (host: string | undefined) => void;

export interface DisposableLike {
  dispose(): void;
}

export class ProcessModel {
  private readonly states = new Map<string, HostState>();
  private readonly pendingLists = new Map<string, Promise<ProcessInfo[]>>();
  private readonly pendingChecks = new Map<string, Promise<HostReport>>();
  private readonly listeners = new Set<ModelListener>();
  private order: string[] = [];
  private currentFilter: ProcessFilter = NO_FILTER;
  private disposed = false;
  private readonly unsubscribe?: () => void;

  constructor(private readonly options: ProcessModelOptions) {
    this.reloadHosts();
    this.unsubscribe = options.engine.onConnectionChange?.((change) => this.connectionChanged(change));
  }

  /** A drop shows on the host (its processes stay, as last seen) until the next action on it
   * reconnects: refresh, expand, check or a migration. */
  private connectionChanged({ host, connected, reason }: ConnectionChange): void {
    const state = this.states.get(host);
    if (!state) return;
    if (!connected) {
      if (state.reachability !== 'reachable') return; // nothing was shown as connected
      state.reachability = 'disconnected';
      state.dropped = { at: Date.now(), ...(reason ? { reason } : {}) };
      this.options.log?.(`The connection to ${host} dropped${reason ? ` (${reason})` : ''}.`);
    } else {
      if (state.reachability !== 'disconnected') return;
      state.reachability = 'reachable';
      state.dropped = undefined;
    }
    this.fire(host);
  }

  get myUid(): number {
    return this.options.myUid;
  }

  onDidChange(listener: ModelListener): DisposableLike {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Host names, `local` first, without duplicates. */
  hostNames(): string[] {
    return [...this.order];
  }

  host(name: string): HostState | undefined {
    return this.states.get(name);
  }

  get filter(): ProcessFilter {
    return this.currentFilter;
  }

  setFilter(filter: Partial<ProcessFilter>): void {
    this.currentFilter = { ...this.currentFilter, ...filter };
    this.fire(undefined);
  }

  /** Re-reads the host list (ssh_config and settings changed) and keeps known hosts' state. */
  reloadHosts(): void {
    let extra: string[] = [];
    try {
      extra = this.options.listHosts();
    } catch (err) {
      this.options.log?.(`Cannot list the configured hosts: ${errorMessage(err)}`);
    }
    const seen = new Set<string>();
    const order: string[] = [];
    for (const name of [LOCAL_HOST, ...extra]) {
      const trimmed = name.trim();
      if (!trimmed || seen.has(trimmed)) continue;
      seen.add(trimmed);
      order.push(trimmed);
    }
    const changed = order.join('\n') !== this.order.join('\n');
    this.order = order;
    for (const name of [...this.states.keys()]) if (!seen.has(name)) this.states.delete(name);
    if (changed) this.fire(undefined);
  }

  /** The host's processes, listing them when not loaded yet (or when `force`). Never rejects:
   * a failure marks the host unreachable and yields an empty list. */
  async loadProcesses(name: string, force = false): Promise<ProcessInfo[]> {
    const state = this.state(name);
    if (state.processes && !force) return state.processes;
    const pending = this.pendingLists.get(name);
    if (pending) return pending;
    const run = (async () => {
      state.reachability = state.reachability === 'reachable' ? 'reachable' : 'loading';
      try {
        const processes = await this.options.engine.listProcesses(name);
        state.processes = processes;
        state.error = undefined;
        state.dropped = undefined;
        state.reachability = 'reachable';
        state.loadedAt = Date.now();
        return processes;
      } catch (err) {
        state.processes = undefined;
        state.error = errorMessage(err);
        state.dropped = undefined;
        state.reachability = 'unreachable';
        this.options.log?.(`Listing processes on ${name} failed: ${state.error}`);
        return [];
      } finally {
        this.pendingLists.delete(name);
        this.fire(name);
      }
    })();
    this.pendingLists.set(name, run);
    return run;
  }

  /** Asks the engine for the host's report (reachability, CRIU, load, problems). Never rejects. */
  async check(name: string): Promise<HostReport> {
    const pending = this.pendingChecks.get(name);
    if (pending) return pending;
    const state = this.state(name);
    state.checking = true;
    this.fire(name);
    const run = (async () => {
      let report: HostReport;
      try {
        report = await this.options.engine.checkHost(name);
      } catch (err) {
        report = { host: name, reachable: false, problems: [errorMessage(err)] };
      }
      state.report = report;
      state.checking = false;
      if (!report.reachable) state.reachability = 'unreachable';
      else if (state.reachability !== 'reachable') state.reachability = 'reachable';
      state.dropped = undefined;
      this.pendingChecks.delete(name);
      this.fire(name);
      return report;
    })();
    this.pendingChecks.set(name, run);
    return run;
  }

  /** Sets the host up (engine.setUpHost); its report then replaces the last check's. Rejects
   * with the engine's one sentence. */
  async setUp(name: string, onStep?: (step: string) => void): Promise<{ steps: string[]; report: HostReport }> {
    const done = await this.options.engine.setUpHost(name, { onStep });
    const state = this.state(name);
    state.report = done.report;
    state.reachability = done.report.reachable ? 'reachable' : 'unreachable';
    this.fire(name);
    return done;
  }

  /** The host's process tree under the current filter (empty until loaded). */
  forest(name: string): ProcessNode[] {
    const processes = this.states.get(name)?.processes;
    return processes ? buildProcessForest(processes, this.options.myUid, this.currentFilter) : [];
  }

  findProcess(name: string, pid: number): ProcessInfo | undefined {
    return this.states.get(name)?.processes?.find((p) => p.pid === pid);
  }

  /** Reloads the host list and the processes of every host listed before (or of `hosts`). */
  async refresh(hosts?: readonly string[]): Promise<void> {
    this.reloadHosts();
    const names = hosts ?? this.order.filter((n) => this.states.get(n)?.processes || this.states.get(n)?.error);
    await Promise.all(names.map((n) => this.loadProcesses(n, true)));
  }

  dispose(): void {
    this.disposed = true;
    this.unsubscribe?.();
    this.listeners.clear();
  }

  private state(name: string): HostState {
    let state = this.states.get(name);
    if (!state) {
      state = { name, reachability: 'unknown', checking: false };
      this.states.set(name, state);
    }
    return state;
  }

  private fire(host: string | undefined): void {
    if (this.disposed) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(host);
      } catch (err) {
        this.options.log?.(`Model listener failed: ${errorMessage(err)}`);
      }
    }
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
