// One Engine for the whole extension that is rebuilt when the settings it was made from change
// (the ssh_config file). Callers keep a single reference; calls in flight finish on the old engine.
import type {
  BatchRequest,
  BatchResult,
  ConnectionChange,
  Engine,
  EngineOptions,
  EvacuateRequest,
  EvacuationResult,
  HostReport,
  HostState,
  MigrateOptions,
  MigrationRequest,
  MigrationResult,
  Placement,
  PlacementRequest,
  PortForwarding,
  ProcessInfo,
  ProcessState,
  ProtectOptions,
  ProtectRequest,
  Protection,
  SetUpOptions,
  TerminalRef,
  TracedProcess,
} from '../../migration/api';
import type { RunningCommand } from '../../transport/host';

export type EngineFactory = (options: EngineOptions) => Engine;

/** The optional capabilities of automatic migration an engine may lack. */
export type AutomaticCapability = 'hostStates' | 'place' | 'evacuate' | 'protect';

/** The sentence a command shows when the engine lacks a capability. */
export const MISSING_CAPABILITY: Record<AutomaticCapability, string> = {
  hostStates: 'This engine does not measure host state (load, memory, disk, link), so the host rows show only what Check Host found.',
  place: 'This engine cannot choose a destination by load (no placement): pick a host with "Migrate to…".',
  evacuate: 'This engine cannot evacuate a host: select its processes and use "Migrate to…" instead.',
  protect: 'This engine cannot protect a process with periodic checkpoints.',
};

export class ReconfigurableEngine implements Engine {
  private engine: Engine;
  /** Disposals of replaced engines still under way (each leaves the set when it settles). */
  private readonly retiring = new Set<Promise<void>>();
  /** Listeners stay subscribed across engines: each new one reports to them too. */
  private readonly connectionListeners = new Set<(change: ConnectionChange) => void>();
  private readonly hostStateListeners = new Set<(state: HostState) => void>();
  private unsubscribe?: () => void;

  constructor(
    private readonly factory: EngineFactory,
    options: EngineOptions,
  ) {
    this.engine = this.adopt(factory(options));
  }

  /** Replaces the engine with one made from `options`; the old one is disposed. */
  reconfigure(options: EngineOptions): void {
    const old = this.engine;
    this.unsubscribe?.();
    this.engine = this.adopt(this.factory(options));
    const disposal: Promise<void> = old
      .dispose()
      .catch(() => undefined)
      .finally(() => this.retiring.delete(disposal));
    this.retiring.add(disposal);
  }

  private adopt(engine: Engine): Engine {
    const offConnection = engine.onConnectionChange?.((change) => {
      for (const l of [...this.connectionListeners]) l(change);
    });
    const offHostState = engine.onHostState?.((state) => {
      for (const l of [...this.hostStateListeners]) l(state);
    });
    this.unsubscribe = () => {
      offConnection?.();
      offHostState?.();
    };
    return engine;
  }

  /** Whether the current engine offers `capability` (they are optional in the Engine API). */
  supports(capability: AutomaticCapability): boolean {
    return typeof this.engine[capability] === 'function';
  }

  onHostState(listener: (state: HostState) => void): () => void {
    this.hostStateListeners.add(listener);
    return () => this.hostStateListeners.delete(listener);
  }

  hostStates(hosts: string[], options?: { fresh?: boolean }): Promise<HostState[]> {
    if (!this.engine.hostStates) return Promise.reject(new Error(MISSING_CAPABILITY.hostStates));
    return this.engine.hostStates(hosts, options);
  }

  place(request: PlacementRequest): Promise<Placement> {
    if (!this.engine.place) return Promise.reject(new Error(MISSING_CAPABILITY.place));
    return this.engine.place(request);
  }

  evacuate(request: EvacuateRequest, options?: MigrateOptions): Promise<EvacuationResult> {
    if (!this.engine.evacuate) return Promise.reject(new Error(MISSING_CAPABILITY.evacuate));
    return this.engine.evacuate(request, options);
  }

  /** Throws (synchronously, like the engine's own argument checks) when the engine cannot protect. */
  protect(request: ProtectRequest, options?: ProtectOptions): Protection {
    if (!this.engine.protect) throw new Error(MISSING_CAPABILITY.protect);
    return this.engine.protect(request, options);
  }

  onConnectionChange(listener: (change: ConnectionChange) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  listProcesses(host: string): Promise<ProcessInfo[]> {
    return this.engine.listProcesses(host);
  }

  checkHost(host: string): Promise<HostReport> {
    return this.engine.checkHost(host);
  }

  setUpHost(host: string, options?: SetUpOptions): Promise<{ steps: string[]; report: HostReport }> {
    return this.engine.setUpHost(host, options);
  }

  migrate(request: MigrationRequest, options?: MigrateOptions): Promise<MigrationResult> {
    return this.engine.migrate(request, options);
  }

  migrateMany(request: BatchRequest, options?: MigrateOptions): Promise<BatchResult> {
    return this.engine.migrateMany(request, options);
  }

  forwardPorts(origin: string, destination: string, ports: number[]): Promise<PortForwarding> {
    if (!this.engine.forwardPorts) return Promise.reject(new Error('This engine cannot forward ports.'));
    return this.engine.forwardPorts(origin, destination, ports);
  }

  attachTerminal(terminal: TerminalRef, size: { rows: number; cols: number }): Promise<RunningCommand> {
    if (!this.engine.attachTerminal) return Promise.reject(new Error('This engine cannot reach terminals.'));
    return this.engine.attachTerminal(terminal, size);
  }

  tracerOf(host: string, pid: number): Promise<TracedProcess | undefined> {
    return this.engine.tracerOf(host, pid);
  }

  stopTracer(traced: TracedProcess): Promise<void> {
    return this.engine.stopTracer(traced);
  }

  processState(host: string, pid: number): Promise<ProcessState> {
    return this.engine.processState(host, pid);
  }

  listenerOf(host: string, port: number): Promise<number | undefined> {
    return this.engine.listenerOf(host, port);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.retiring, this.engine.dispose()]);
  }
}

/** Whether `engine` (a ReconfigurableEngine: the one it wraps now) offers `capability`. */
export function engineSupports(engine: Engine, capability: AutomaticCapability): boolean {
  return engine instanceof ReconfigurableEngine ? engine.supports(capability) : typeof engine[capability] === 'function';
}
