// Forwarded ports: after a process moves, each TCP port it listened on is listened on again on its
// origin's loopback and carried over SSH to the same port on its new host (engine `forwardPorts`),
// so `http://localhost:3000` keeps answering. The model keeps them for the extension host's life and
// remembers them in workspaceState, so a reloaded window forwards again to processes still there.
// The tree items are forwardItems.ts, the Stop Forwarding command forwardCommand.ts. Host-free:
// no vscode here.
import type { Engine, MigrationResult, PortForwarding } from '../../migration/api';
import type { ForwardRecord, MementoLike } from '../report/history';
import { LOCAL_HOST, errorMessage, type DisposableLike } from '../view/processModel';

export const FORWARDS_KEY = 'processMigrator.forwards';

/** One port of one migrated process, forwarded from `origin` to `destination`. */
export interface ForwardSpec {
  origin: string;
  destination: string;
  port: number;
  /** The process on `destination`. */
  pid: number;
  name?: string;
}

export interface ActiveForward extends ForwardSpec {
  /** `origin:port`: an origin's port is forwarded once at a time. */
  readonly id: string;
  /** Connections carried since it started (this extension host). */
  readonly connections: number;
}

export interface PortForwardsDeps {
  engine: Pick<Engine, 'forwardPorts' | 'listProcesses'>;
  memento: MementoLike;
  log: (line: string) => void;
}

export function forwardId(spec: Pick<ForwardSpec, 'origin' | 'port'>): string {
  return `${spec.origin}:${spec.port}`;
}

/** `localhost:3000 → lab-b:3000` (the origin is named when it is not this machine). */
export function describeForward(f: ForwardSpec): string {
  const from = f.origin === LOCAL_HOST ? 'localhost' : `${f.origin} localhost`;
  return `${from}:${f.port} → ${f.destination}:${f.port}`;
}

export class PortForwards implements DisposableLike {
  private readonly live = new Map<string, { spec: ForwardSpec; forwarding: PortForwarding }>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: PortForwardsDeps) {}

  list(): ActiveForward[] {
    return [...this.live.values()].map(({ spec, forwarding }) => ({
      ...spec,
      id: forwardId(spec),
      get connections() {
        return forwarding.connections;
      },
    }));
  }

  /** The forwards that reach process `pid` on `host`. */
  forProcess(host: string, pid: number): ActiveForward[] {
    return this.list().filter((f) => f.destination === host && f.pid === pid);
  }

  onDidChange(listener: () => void): DisposableLike {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Forwards every port `result`'s process listened on; one record per port (with the error
   * when the port could not be bound on the origin). Nothing when the move failed. */
  async afterMigration(result: MigrationResult, name?: string): Promise<ForwardRecord[]> {
    if (!result.ok || result.destinationPid === undefined) return [];
    const records: ForwardRecord[] = [];
    for (const port of result.listeningPorts ?? []) {
      records.push(await this.forward({ origin: result.from, destination: result.to, port, pid: result.destinationPid, name }));
    }
    return records;
  }

  /** Starts one forward (replacing one of the same origin port) and remembers it. */
  async forward(spec: ForwardSpec): Promise<ForwardRecord> {
    await this.stop(forwardId(spec), { keep: true });
    try {
      if (!this.deps.engine.forwardPorts) throw new Error('this engine cannot forward ports');
      const forwarding = await this.deps.engine.forwardPorts(spec.origin, spec.destination, [spec.port]);
      const failure = forwarding.failed[0];
      if (failure || forwarding.ports.length === 0) {
        await forwarding.dispose();
        throw new Error(failure?.error ?? `port ${spec.port} was not bound`);
      }
      this.live.set(forwardId(spec), { spec, forwarding });
      await this.save();
      this.deps.log(`Forwarding ${describeForward(spec)} (${spec.name ?? 'process'} PID ${spec.pid})`);
      this.fire();
      return { port: spec.port };
    } catch (err) {
      const error = errorMessage(err);
      this.deps.log(`Cannot forward ${describeForward(spec)}: ${error}`);
      return { port: spec.port, error };
    }
  }

  /** Stops a forward; `keep` leaves it remembered (it is being replaced). Returns what it was. */
  async stop(id: string, options: { keep?: boolean } = {}): Promise<ForwardSpec | undefined> {
    const entry = this.live.get(id);
    if (!entry) return undefined;
    this.live.delete(id);
    await entry.forwarding.dispose();
    if (!options.keep) {
      await this.save();
      this.deps.log(`Stopped forwarding ${describeForward(entry.spec)} after ${entry.forwarding.connections} connections`);
      this.fire();
    }
    return entry.spec;
  }

  /** Stops every forward to process `pid` on `host` (before it moves again); returns them. */
  async stopFor(host: string, pid: number): Promise<ForwardSpec[]> {
    const stopped: ForwardSpec[] = [];
    for (const f of this.forProcess(host, pid)) {
      const spec = await this.stop(f.id);
      if (spec) stopped.push(spec);
    }
    return stopped;
  }

  /** Forwards again what a previous extension host (a reloaded window) forwarded, for the
   * processes that still run where they went; forgets the others. */
  async restore(): Promise<void> {
    const stored = this.deps.memento.get<ForwardSpec[]>(FORWARDS_KEY);
    if (!Array.isArray(stored) || stored.length === 0) return;
    const byHost = new Map<string, Set<number>>();
    for (const spec of stored) {
      if (this.live.has(forwardId(spec))) continue;
      if (!byHost.has(spec.destination)) {
        const pids = await this.deps.engine.listProcesses(spec.destination).then(
          (list) => new Set(list.map((p) => p.pid)),
          () => new Set<number>(),
        );
        byHost.set(spec.destination, pids);
      }
      if (byHost.get(spec.destination)?.has(spec.pid)) await this.forward(spec);
      else this.deps.log(`Not forwarding ${describeForward(spec)} again: PID ${spec.pid} no longer runs on ${spec.destination}`);
    }
    await this.save();
    this.fire();
  }

  /** Starts every forward afresh (the engine was rebuilt and its connections closed). */
  async reestablish(): Promise<void> {
    const specs = [...this.live.values()].map((e) => e.spec);
    for (const spec of specs) await this.forward(spec);
  }

  /** Closes the listeners but keeps them remembered for the next extension host. */
  dispose(): void {
    for (const { forwarding } of this.live.values()) void forwarding.dispose();
    this.live.clear();
    this.listeners.clear();
  }

  private save(): Thenable<void> {
    return this.deps.memento.update(FORWARDS_KEY, [...this.live.values()].map((e) => e.spec));
  }

  private fire(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** Appended to a migrated process's row: where it came from and which ports follow it. */
export function forwardedPortsText(forwards: readonly ForwardSpec[]): string | undefined {
  return forwards.length ? `localhost:${forwards.map((f) => f.port).join(', :')} forwarded` : undefined;
}

/** Appended to the success notification: ` Forwarding localhost:3000 to it.` or why not. */
export function forwardNotice(result: MigrationResult, records: readonly ForwardRecord[] | undefined): string {
  if (!records?.length) return '';
  const ok = records.filter((r) => !r.error).map((r) => r.port);
  const failed = records.filter((r) => r.error);
  const origin = result.from === LOCAL_HOST ? 'localhost' : `${result.from}'s localhost`;
  const parts: string[] = [];
  if (ok.length) parts.push(` Forwarding ${origin}:${ok.join(', :')} to it.`);
  for (const f of failed) parts.push(` Port ${f.port} is not forwarded: ${f.error}`);
  return parts.join('');
}
