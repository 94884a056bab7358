// Early event request, taken further: the way a migration's memory takes (an image directory on
// each host, the one-time sshd and the page tunnel between them, pageTunnel.ts) readied before
// the migration is asked for, when the user looks at a destination (the picker's highlighted
// host), and taken by the next migration between those hosts. Opening it costs ~0.2 s of SSH
// handshakes that a migration would otherwise wait for after its preflight.
//
// A route waits at most IDLE_MS and is dropped unused if the user cancels. It holds no process
// memory yet, only the one-time keys in the 0700 directories; the sshd accepts the source's
// one-time key alone, and its only forward leads to a socket where nothing listens yet. Should
// this machine go away meanwhile, its SSH channels end the sshd and the tunnel, and the next
// migration on each host sweeps the directory (mkimages).
import type { HostHelper } from '../helper/hostHelper';
import type { ByteCounter } from '../transport/bridge';
import { makeImageDirectoryPair, removeImageDirectory } from './imageDirectories';
import type { ReadiedRoute } from './imageRoute';
import { openPageTunnel } from './pageTunnel';

/** How long a readied route waits for its migration. */
export const IDLE_MS = 60_000;
/** Readied routes kept at once: the user's eye moves between hosts; the oldest goes. */
export const MAX_READY = 2;

/** A byte counter whose counts go wherever `target` points: a route's tunnel counts from the
 * moment it opens, and the session that takes the route wants them. */
export class CounterRelay implements ByteCounter {
  target: ByteCounter = { bytes: 0 };
  get bytes(): number {
    return this.target.bytes;
  }
  set bytes(n: number) {
    this.target.bytes = n;
  }
}

interface Entry {
  route: Promise<ReadiedRoute | undefined>;
  timer: NodeJS.Timeout;
}

export class RoutePool {
  private readonly ready = new Map<string, Entry>();

  constructor(
    private readonly helper: (host: string) => Promise<HostHelper>,
    private readonly log: (line: string) => void,
  ) {}

  /** Readies the route from `from` to `to` unless one is ready or on its way. Never rejects:
   * a route that cannot open is the migration's to report. */
  prepare(from: string, to: string): void {
    const key = keyOf(from, to);
    if (from === to || this.ready.has(key)) return;
    const route = this.open(from, to).catch((err: unknown) => {
      this.log(`route ${from} → ${to} not readied: ${err instanceof Error ? err.message : String(err)}`);
      this.ready.delete(key);
      return undefined;
    });
    const timer = setTimeout(() => void this.drop(key), IDLE_MS);
    timer.unref();
    this.ready.set(key, { route, timer });
    for (const oldest of [...this.ready.keys()].slice(0, Math.max(0, this.ready.size - MAX_READY))) void this.drop(oldest);
  }

  /** The readied route from `from` to `to`, if one opened and still serves; it is the caller's
   * from here (its rollback removes it). */
  async take(from: string, to: string): Promise<ReadiedRoute | undefined> {
    const key = keyOf(from, to);
    const entry = this.ready.get(key);
    if (!entry) return undefined;
    this.ready.delete(key);
    clearTimeout(entry.timer);
    const route = await entry.route;
    if (route && !route.tunnel.serving()) {
      await this.dispose(route);
      return undefined;
    }
    return route;
  }

  /** Drops every readied route (the engine's end). */
  async close(): Promise<void> {
    await Promise.all([...this.ready.keys()].map((key) => this.drop(key)));
  }

  private async drop(key: string): Promise<void> {
    const entry = this.ready.get(key);
    if (!entry) return;
    this.ready.delete(key);
    clearTimeout(entry.timer);
    const route = await entry.route;
    if (route) await this.dispose(route);
  }

  private async open(from: string, to: string): Promise<ReadiedRoute> {
    const [source, destination] = await Promise.all([this.helper(from), this.helper(to)]);
    const helpers = { source, destination };
    const made: { helper: HostHelper; dir: string }[] = [];
    try {
      const dirs = await makeImageDirectoryPair(helpers, (side, dir) => made.push({ helper: helpers[side], dir }));
      const counter = new CounterRelay();
      const tunnel = await openPageTunnel({ helper: source, dir: dirs.source }, { helper: destination, dir: dirs.destination }, counter);
      return { sourceDir: dirs.source, destinationDir: dirs.destination, tunnel, counter, source, destination };
    } catch (err) {
      await Promise.allSettled(made.map((m) => removeImageDirectory(m.helper, m.dir)));
      throw err;
    }
  }

  private async dispose(route: ReadiedRoute): Promise<void> {
    await route.tunnel.abort().catch(() => undefined);
    await Promise.allSettled([removeImageDirectory(route.source, route.sourceDir), removeImageDirectory(route.destination, route.destinationDir)]);
  }
}

function keyOf(from: string, to: string): string {
  return `${from}\n${to}`;
}
