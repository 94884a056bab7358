// One Engine for the whole extension that is rebuilt when the settings it was made from change
// (the ssh_config file). Callers keep a single reference; calls in flight finish on the old engine.
import type {
  BatchRequest,
  Protection,
  BatchResult,
  ConnectionChange,
  Engine,
  EngineOptions,
  HostReport,
  MigrateOptions,
  MigrationRequest,
  MigrationResult,
  PortForwarding,
  ProcessInfo,
  ProcessState,
  SetUpOptions,
  TerminalRef,
  TracedProcess, Feasibility, HostState } from '../../migration/api';
import type { RunningCommand } from '../../transport/host';

export type EngineFactory = (options: EngineOptions) => Engine;

export class ReconfigurableEngine implements Engine {
  private engine: Engine;
  /** Disposals of replaced engines still under way (each leaves the set when it settles). */
  private readonly retiring = new Set<Promise<void>>();
  /** Listeners stay subscribed across engines: each new one reports to them too. */
  private readonly connectionListeners = new Set<(change: ConnectionChange) => void>();
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
    this.unsubscribe = engine.onConnectionChange?.((change) => {
      for (const l of [...this.connectionListeners]) l(change);
    });
    return engine;
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

  prepareRoute(from: string, to: string): void {
    this.engine.prepareRoute?.(from, to);
  }

  checkFeasible(request: MigrationRequest, options?: Pick<MigrateOptions, 'signal'>): Promise<Feasibility> {
    return this.engine.checkFeasible(request, options);
  }

  measureHost(host: string, previous?: HostState): Promise<HostState> {
    return this.engine.measureHost(host, previous);
  }

  measureLink(from: string, to: string, port?: number): Promise<number> {
    if (!this.engine.measureLink) return Promise.reject(new Error('This engine cannot measure links between hosts.'));
    return this.engine.measureLink(from, to, port);
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

  fromLogin(host: string, pids: readonly number[]): Promise<number[]> {
    return this.engine.fromLogin(host, pids);
  }

  get protection(): Protection | undefined {
    return this.engine.protection;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.retiring, this.engine.dispose()]);
  }
}
