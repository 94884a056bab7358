// Each host's measured state (api.ts HostState): a cached view refreshed in the background, with
// a bounded number of probes in flight so that many hosts never mean many SSH sessions at once.
// A probe is two cheap helper commands: a trivial round trip (the RTT from this machine) and
// `host-state`. Load comes from the cgroup's CPU time between two probes where the kernel counts
// it (a lab host or container shares its parent's /proc/loadavg), else from /proc/loadavg. Links
// also learn MiB/s from real migrations (recordTransfer), between any two hosts.
import type { HostSample } from '../../helper/hostState';
import type { HostState, LinkMeasure, MigrationResult } from '../api';
import { sentenceFor } from '../errors';

/** This machine, as the engine's hosts name it. */
export const THIS_MACHINE = 'local';

export interface ProbeResult {
  sample: HostSample;
  /** A trivial helper round trip, in ms. */
  rttMs: number;
}

export interface HostStatesOptions {
  probe: (host: string) => Promise<ProbeResult>;
  /** How often a watched host is probed again; older entries are stale after twice this. */
  periodMs?: number;
  /** Probes in flight at most. */
  maxInFlight?: number;
  /** A host's first probe is followed by a second this much later, so that its CPU use has a
   * rate from the start. */
  secondSampleMs?: number;
  now?: () => number;
}

interface Usage {
  uptime: number;
  usageNs: number;
}

interface Entry {
  sample?: HostSample;
  measuredAt?: number;
  error?: string;
  /** CPU-time samples of the last 5 minutes and a bit, oldest first. */
  usage: Usage[];
  /** The probe under way, if any. */
  probing?: Promise<void>;
}

const FIVE_MINUTES = 300;

export class HostStates {
  private readonly entries = new Map<string, Entry>();
  private readonly links = new Map<string, LinkMeasure>();
  private readonly listeners = new Set<(state: HostState) => void>();
  private readonly watched = new Set<string>();
  private readonly waiting: (() => void)[] = [];
  private inFlight = 0;
  private timer?: ReturnType<typeof setInterval>;
  private readonly periodMs: number;
  private readonly maxInFlight: number;
  private readonly secondSampleMs: number;
  private readonly now: () => number;

  constructor(private readonly options: HostStatesOptions) {
    this.periodMs = options.periodMs ?? 15_000;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.secondSampleMs = options.secondSampleMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Each host's state, from the cache; a host never measured (or every host, with `fresh`) is
   * probed first. Asking for a host keeps it refreshed in the background from then on. */
  async states(hosts: readonly string[], options: { fresh?: boolean } = {}): Promise<HostState[]> {
    for (const host of hosts) this.watch(host);
    await Promise.all(hosts.map((host) => (options.fresh || !this.entry(host).measuredAt ? this.refresh(host) : undefined)));
    return hosts.map((host) => this.state(host));
  }

  onState(listener: (state: HostState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Probes `host` now (joining a probe under way), within the bound on probes in flight. */
  refresh(host: string): Promise<void> {
    const entry = this.entry(host);
    entry.probing ??= this.probeBounded(host, entry).finally(() => (entry.probing = undefined));
    return entry.probing;
  }

  /** Remembers the MiB/s a real migration reached between its hosts. */
  recordTransfer(result: Pick<MigrationResult, 'ok' | 'from' | 'to' | 'bytes' | 'phases'>): void {
    const p = result.phases;
    // The data moves while CRIU dumps (pages stream to the destination) and after.
    const ms = (p.rounds ?? 0) + (p.dump ?? 0) + (p.transfer ?? 0) + (p.pages ?? 0);
    if (!result.ok || result.bytes < 1 << 20 || ms <= 0) return;
    const key = linkKey(result.from, result.to);
    this.links.set(key, { ...this.links.get(key), from: result.from, to: result.to, mibPerSec: round2(result.bytes / (1 << 20) / (ms / 1000)), measuredAt: this.iso() });
  }

  /** The link from `from` to `to`, as far as it was measured. */
  link(from: string, to: string): LinkMeasure | undefined {
    return this.links.get(linkKey(from, to));
  }

  /** The state of `host` as cached now. */
  state(host: string): HostState {
    const entry = this.entry(host);
    const s = entry.sample;
    const link = this.link(THIS_MACHINE, host);
    const old = entry.measuredAt === undefined || this.now() - entry.measuredAt > 2 * this.periodMs;
    const [load1, load5] = s ? this.loads(entry, s) : [0, 0];
    return {
      host,
      ...(entry.measuredAt !== undefined ? { measuredAt: new Date(entry.measuredAt).toISOString() } : {}),
      stale: old || entry.error !== undefined,
      ...(entry.error ? { error: entry.error } : {}),
      cpus: s?.cpus ?? 0,
      load1,
      load5,
      ...(s?.cpuPressure !== undefined ? { cpuPressure: s.cpuPressure } : {}),
      memAvailableBytes: s?.memAvailableBytes ?? 0,
      ...(s?.memLimitBytes !== undefined ? { memLimitBytes: s.memLimitBytes } : {}),
      diskFreeBytes: s?.diskFreeBytes ?? 0,
      ...(s?.criuVersion ? { criuVersion: s.criuVersion } : {}),
      ...(s?.arch ? { arch: s.arch } : {}),
      ...(link ? { link } : {}),
    };
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private watch(host: string): void {
    this.watched.add(host);
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const h of this.watched) void this.refresh(h);
    }, this.periodMs);
    // The background refresh never keeps the process (the CLI) alive.
    this.timer.unref?.();
  }

  private entry(host: string): Entry {
    let entry = this.entries.get(host);
    if (!entry) this.entries.set(host, (entry = { usage: [] }));
    return entry;
  }

  private async probeBounded(host: string, entry: Entry): Promise<void> {
    await this.slot(() => this.probeOnce(host, entry));
    // Two samples give the cgroup's CPU rate at once rather than a period later (the slot is
    // free meanwhile).
    if (entry.usage.length === 1 && !entry.error) {
      await new Promise((resolve) => setTimeout(resolve, this.secondSampleMs));
      await this.slot(() => this.probeOnce(host, entry));
    }
    this.emit(host);
  }

  /** Runs `work` once fewer than maxInFlight probes are in flight. */
  private async slot(work: () => Promise<void>): Promise<void> {
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      await work();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private async probeOnce(host: string, entry: Entry): Promise<void> {
    try {
      const { sample, rttMs } = await this.options.probe(host);
      entry.sample = sample;
      entry.measuredAt = this.now();
      entry.error = undefined;
      this.addUsage(entry, sample);
      const key = linkKey(THIS_MACHINE, host);
      this.links.set(key, { ...this.links.get(key), from: THIS_MACHINE, to: host, rttMs: round2(rttMs), measuredAt: this.iso() });
    } catch (err) {
      entry.error = `Could not measure ${host}: ${sentenceFor(err)}`.replace(/([^.])$/, '$1.');
    }
  }

  private addUsage(entry: Entry, sample: HostSample): void {
    if (sample.cpuUsageNs === undefined) return void (entry.usage = []);
    const last = entry.usage.at(-1);
    // A reboot (or another cgroup) starts the counter anew.
    if (last && (sample.uptime <= last.uptime || sample.cpuUsageNs < last.usageNs)) entry.usage = [];
    entry.usage.push({ uptime: sample.uptime, usageNs: sample.cpuUsageNs });
    while (entry.usage.length > 2 && sample.uptime - entry.usage[1].uptime >= FIVE_MINUTES) entry.usage.shift();
  }

  /** Load per usable core over about 1 and 5 minutes. */
  private loads(entry: Entry, s: HostSample): [number, number] {
    if (entry.usage.length < 2) return [round2(s.loadavg1 / s.cpusOnline), round2(s.loadavg5 / s.cpusOnline)];
    return [round2(usageRate(entry.usage, 60) / s.cpus), round2(usageRate(entry.usage, FIVE_MINUTES) / s.cpus)];
  }

  private emit(host: string): void {
    const state = this.state(host);
    for (const listener of this.listeners) listener(state);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

/** Cores busy on average over the last `seconds` (or as far back as the samples go). */
export function usageRate(usage: readonly Usage[], seconds: number): number {
  const newest = usage[usage.length - 1];
  let base = usage[0];
  for (const u of usage) if (newest.uptime - u.uptime >= seconds) base = u;
  const dt = newest.uptime - base.uptime;
  return dt > 0 ? (newest.usageNs - base.usageNs) / 1e9 / dt : 0;
}

function linkKey(from: string, to: string): string {
  return `${from}\u2192${to}`;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
