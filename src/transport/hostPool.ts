// One connection per host name for the whole session: concurrent callers share a pending connect and
// live connections are reused. A dropped connection is reopened by the next `get` (or the next call
// on the Host), on the same Host object, so holders of a Host never keep a dead one.
import type { Host, HostOptions } from './host';
import { LocalHost } from './localHost';
import { SshHost } from './sshHost';

export { listConfiguredHosts } from './sshConfig';

/** A host's connection dropped (`connected: false`, with the error if there was one), or it
 * opened again. Not reported: connects that fail, and `close()`. */
export interface ConnectionChange {
  host: string;
  connected: boolean;
  error?: Error;
}

export class HostPool {
  private readonly hosts = new Map<string, Promise<SshHost>>();
  private local?: LocalHost;
  private closed = false;
  private readonly connectionListeners = new Set<(change: ConnectionChange) => void>();

  constructor(private readonly options: HostOptions = {}) {}

  /** Tells `listener` of each connection of the pool's hosts that drops or opens. */
  onConnectionChange(listener: (change: ConnectionChange) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  private changed(change: ConnectionChange): void {
    for (const l of [...this.connectionListeners]) l(change);
  }

  /** The Host for `local`, an ssh_config alias or `user@host[:port]`, connected. Rejects with a
   * TransportError whose message is one sentence for the user. */
  async get(name: string): Promise<Host> {
    if (this.closed) throw new Error('HostPool is closed');
    if (name === 'local') return (this.local ??= new LocalHost(this.options));
    let entry = this.hosts.get(name);
    // Someone closed the Host itself: start afresh rather than hand out a closed object.
    if (entry && (await entry.catch(() => undefined))?.isClosed) {
      if (this.hosts.get(name) === entry) this.hosts.delete(name);
      entry = undefined;
    }
    if (!entry) {
      const fresh = new SshHost(name, this.options);
      fresh.onConnect(() => this.changed({ host: name, connected: true }));
      fresh.onDisconnect((error) => this.changed({ host: name, connected: false, error }));
      const created: Promise<SshHost> = fresh.ensureConnected().then(() => fresh, (err: unknown) => {
        // A failed connect is not cached: the user may fix the config and retry.
        if (this.hosts.get(name) === created) this.hosts.delete(name);
        throw err;
      });
      this.hosts.set(name, created);
      entry = created;
    }
    const host = await entry;
    await host.ensureConnected(); // reopens a dropped connection; shares one already under way
    return host;
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.hosts.values()];
    this.hosts.clear();
    // Connects that failed already reported their error to their caller.
    await Promise.allSettled(entries.map(async (p) => (await p).close()));
    await this.local?.close();
  }
}
