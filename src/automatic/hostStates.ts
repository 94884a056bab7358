// The measured state of each host, cached and refreshed in the background with a bounded number of
// probes in flight, so the view, placement and policies read it without waiting on SSH. Link speed
// between two hosts is learned from the migrations that ran between them (bytes over transfer
// time), which costs nothing extra; the round trip between two hosts is measured (a TCP connect
// from one to the other's sshd, one helper call) when placement first weighs the pair, and
// remembered as long as a host's state is.
import type { Engine, HostLink, HostState } from '../migration/api';

/** `procmig hosts` measures the round trips between the hosts it lists up to this many: the
 * pairs grow as the square. */
export const MAX_HOSTS_FOR_LINKS = 12;
/** At most this many probes run at once, however many hosts are listed. */
export const MAX_PROBES_IN_FLIGHT = 4;
/** A state older than this is refreshed when asked for, and marked stale in the view. */
export const STATE_MAX_AGE_MS = 15_000;

type Listener = (state: HostState) => void;

export class HostStates {
  private readonly states = new Map<string, HostState>();
  private readonly pending = new Map<string, Promise<HostState>>();
  private readonly queue: (() => void)[] = [];
  private inFlight = 0;
  private readonly listeners = new Set<Listener>();
  /** `from→to` → MiB/s, learned from migrations. */
  private readonly links = new Map<string, number>();
  /** `from→to` → the host-to-host round trip (undefined: it could not be measured), and when. */
  private readonly rtts = new Map<string, { ms?: number; measuredAt: number }>();
  private readonly pendingRtts = new Map<string, Promise<number | undefined>>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly engine: Pick<Engine, 'measureHost'> & Partial<Pick<Engine, 'measureLink'>>,
    private readonly options: { maxAgeMs?: number; maxInFlight?: number; now?: () => number } = {},
  ) {}

  private get maxAge(): number {
    return this.options.maxAgeMs ?? STATE_MAX_AGE_MS;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The last state of `host`, marked stale when too old, with what is known of its links;
   * undefined before its first probe. */
  peek(host: string): HostState | undefined {
    const s = this.states.get(host);
    if (!s) return s;
    const links = this.linksOf(host);
    const withLinks = links.length ? { ...s, links } : s;
    if (s.stale || this.now() - s.measuredAt <= this.maxAge) return withLinks;
    return { ...withLinks, stale: `measured ${Math.round((this.now() - s.measuredAt) / 1000)} s ago` };
  }

  /** What is known of the links from `host` to the others, by host name. */
  linksOf(host: string): HostLink[] {
    const others = new Set<string>();
    for (const key of [...this.rtts.keys(), ...this.links.keys()]) {
      const [from, to] = key.split('→');
      if (from === host) others.add(to);
      else if (to === host && this.rtts.has(key)) others.add(from);
    }
    return [...others].sort().flatMap((other) => {
      const rttMs = this.linkRttMs(host, other);
      const mibps = this.linkMiBps(host, other);
      if (rttMs === undefined && mibps === undefined) return [];
      return [{ host: other, ...(rttMs !== undefined ? { rttMs } : {}), ...(mibps !== undefined ? { mibps: Math.round(mibps) } : {}) }];
    });
  }

  /** Fresh states of `hosts` (probing those older than the maximum age, bounded in flight). A
   * host that cannot be probed comes back with its last state (or an empty one) marked stale. */
  get(hosts: readonly string[]): Promise<HostState[]> {
    return Promise.all(
      hosts.map((host) => {
        const s = this.states.get(host);
        return s && !s.stale && this.now() - s.measuredAt <= this.maxAge ? Promise.resolve(s) : this.probe(host);
      }),
    );
  }

  /** Probes `host` now (joining a probe under way). */
  probe(host: string): Promise<HostState> {
    const running = this.pending.get(host);
    if (running) return running;
    const p = this.slot(async () => {
      try {
        return await this.engine.measureHost(host, this.states.get(host));
      } catch (err) {
        const last = this.states.get(host);
        const why = `not measured: ${err instanceof Error ? err.message : String(err)}`;
        return last ? { ...last, stale: why } : emptyState(host, this.now(), why);
      }
    }).then((state) => {
      this.pending.delete(host);
      this.states.set(host, state);
      for (const l of this.listeners) l(state);
      return state;
    });
    this.pending.set(host, p);
    return p;
  }

  /** Refreshes `hosts()` every `everyMs` in the background, until disposed. */
  refreshEvery(everyMs: number, hosts: () => readonly string[]): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.get(hosts()), everyMs);
    this.timer.unref?.();
  }

  onDidChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Learns the link speed from a migration that moved `bytes` from `from` to `to` in `ms`. */
  learnLink(from: string, to: string, bytes: number, ms: number): void {
    // Small moves are dominated by latency: they say nothing of the link's speed.
    if (bytes < 4 << 20 || ms <= 0) return;
    const mibps = bytes / (1 << 20) / (ms / 1000);
    const key = `${from}→${to}`;
    const old = this.links.get(key);
    this.links.set(key, old === undefined ? mibps : 0.7 * old + 0.3 * mibps);
  }

  linkMiBps(from: string, to: string): number | undefined {
    return this.links.get(`${from}→${to}`);
  }

  /** The last host-to-host round trip between `from` and `to` in ms, either way (a TCP connect
   * takes as long both ways), however old; undefined before it was measured. */
  linkRttMs(from: string, to: string): number | undefined {
    return this.rtts.get(`${from}→${to}`)?.ms ?? this.rtts.get(`${to}→${from}`)?.ms;
  }

  /** Fresh round trips from `from` to each of `hosts` (measured when older than the maximum
   * age, bounded in flight with the host probes); undefined where it cannot be measured (no
   * address another host can use, nothing on the host to time a connect with). */
  linkRtts(from: string, hosts: readonly string[]): Promise<(number | undefined)[]> {
    return Promise.all(hosts.map((to) => this.linkRtt(from, to)));
  }

  /** The round trip between each pair of `hosts` (one way per pair: a connect takes as long
   * either way), when they are few enough; resolves once all are measured. */
  async measureLinksAmong(hosts: readonly string[]): Promise<void> {
    const remote = [...new Set(hosts)].filter((h) => h !== 'local');
    if (remote.length > MAX_HOSTS_FOR_LINKS) return;
    await Promise.all(remote.map((from, i) => this.linkRtts(from, remote.slice(i + 1))));
  }

  private linkRtt(from: string, to: string): Promise<number | undefined> {
    const key = `${from}→${to}`;
    const known = this.rtts.get(key);
    if (known && this.now() - known.measuredAt <= this.maxAge) return Promise.resolve(known.ms);
    const measureLink = this.engine.measureLink?.bind(this.engine);
    if (!measureLink || from === to) return Promise.resolve(undefined);
    const running = this.pendingRtts.get(key);
    if (running) return running;
    const p = (async () => {
      // Where `to`'s sshd listens: its state says (a cached one will do).
      const port = (this.states.get(to) ?? (await this.get([to]))[0]).sshPort;
      // A failed measurement keeps the last one (if any) until the next try, as a stale state does.
      const ms = (await this.slot(() => measureLink(from, to, port)).catch(() => undefined)) ?? known?.ms;
      this.rtts.set(key, { ms, measuredAt: this.now() });
      this.pendingRtts.delete(key);
      return ms;
    })();
    this.pendingRtts.set(key, p);
    return p;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private slot<T>(work: () => Promise<T>): Promise<T> {
    const max = this.options.maxInFlight ?? MAX_PROBES_IN_FLIGHT;
    return new Promise<void>((resolve) => {
      if (this.inFlight < max) {
        this.inFlight++;
        resolve();
      } else this.queue.push(() => resolve());
    })
      .then(work)
      .finally(() => {
        const next = this.queue.shift();
        if (next) next();
        else this.inFlight--;
      });
  }
}

function emptyState(host: string, now: number, stale: string): HostState {
  return { host, measuredAt: now, stale, cpus: 0, load1PerCore: 0, load5PerCore: 0, memAvailableKiB: 0, diskAvailableKiB: 0 };
}
