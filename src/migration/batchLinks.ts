// Loopback TCP connections between the trees of one batch (a Python program and its debugpy
// adapter, which daemonizes out of the program's tree). Each tree is dumped and restored by a
// CRIU of its own, so such a connection is kept only if
// - each tree's preflight knows the sockets of the others (the connection then counts as
//   inside the move, and CRIU keeps it with --tcp-established), and
// - the first tree restored on the destination does not reach its peer before the peer is
//   restored there: the destination's kernel would answer with a reset. Its loopback drops the
//   packets between those ports from before the first restore until every tree has run there
//   (or given up); TCP retransmits what was dropped.
// If one linked tree fails after the freeze, the others roll back too: half a pair is useless.
// Trees with no connection between them succeed or fail each on its own, and each commits (its
// frozen source ends) as soon as it runs on the destination.
import type { HostHelper } from '../helper/hostHelper';
import { Barrier } from './barrier';
import { HostGuard } from './guard';

export interface BatchLink {
  /** Whether connections run between trees of the batch: those trees freeze together and
   * succeed or fail together. Final once every tree has passed its preflight. */
  readonly linked: boolean;
  /** Publishes this tree's socket inodes; resolves to the other trees' once each has published
   * (or failed before it could). */
  share(inodes: Iterable<number>): Promise<Set<number>>;
  /** Ports of this tree's kept connections that run to another tree of the batch. */
  crossing(ports: number[]): void;
  /** Right before this tree's restore: locks the destination's loopback for the batch's
   * crossing connections (once for all); `undefined` when there are none. */
  lock(destination: HostHelper): Promise<void>;
  /** This tree runs on the destination. Linked trees wait for each other, then the lock is
   * lifted; false when another failed after the freeze (this one must roll back as well). A tree
   * linked to none goes on at once (true). */
  restored(): Promise<boolean>;
  /** This tree failed; frozen: whether it had been frozen (its partners then roll back). */
  leave(frozen: boolean): void;
}

export class BatchLinks {
  private readonly inodes = new Set<number>();
  private readonly ports = new Set<number>();
  private readonly shared: Barrier;
  private readonly lockName = `procmig-${process.pid}-${Date.now()}`;
  private locked?: Promise<HostHelper | undefined>;
  /** Lifts the lock on the destination should this machine go away before it does. */
  private lockGuard?: HostGuard;
  private pending: number;
  private readonly allDone: Promise<void>;
  private allSettled!: () => void;
  private failedAfterFreeze = false;

  constructor(parties: number) {
    this.shared = new Barrier(parties);
    this.pending = parties;
    this.allDone = new Promise((resolve) => (this.allSettled = resolve));
    // Whoever settles last (restored or failed), the lock goes then.
    void this.allDone.then(() => this.unlock());
  }

  /** Whether connections run between trees of the batch: those trees must be frozen together.
   * Final once every tree has passed its preflight. */
  get linked(): boolean {
    return this.ports.size > 0;
  }

  party(): BatchLink {
    const shared = this.shared.party();
    const own = new Set<number>();
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      if (--this.pending <= 0) this.allSettled();
    };
    const links = this;
    return {
      get linked() {
        return links.linked;
      },
      share: async (inodes) => {
        for (const i of inodes) {
          own.add(i);
          this.inodes.add(i);
        }
        await shared.arrive();
        return new Set([...this.inodes].filter((i) => !own.has(i)));
      },
      crossing: (ports) => ports.forEach((p) => this.ports.add(p)),
      lock: async (destination) => {
        if (!this.locked && this.ports.size) {
          this.lockGuard = HostGuard.start(destination, () => undefined);
          this.lockGuard.loopbackLock(this.lockName);
        }
        this.locked ??= this.ports.size
          ? destination.run(['loopback-lock', this.lockName, ...[...this.ports].map(String)]).then(() => destination)
          : Promise.resolve(undefined);
        await this.locked;
      },
      restored: async () => {
        settle();
        // Its frozen source goes now rather than when the batch ends: kept frozen, the sources
        // slowed the other trees' dumps and restores (8 × 64 MiB on the lab, 2 at a time: each
        // one's freeze median 0.50 s and longest 0.58–0.74 s, against 0.42 s and 0.45–0.53 s so;
        // a lone one's 0.36–0.43 s).
        if (!this.linked) return true;
        await this.allDone;
        await this.unlock();
        return !this.failedAfterFreeze;
      },
      leave: (frozen) => {
        if (frozen && this.linked) this.failedAfterFreeze = true;
        shared.leave();
        settle();
      },
    };
  }

  private unlocking?: Promise<void>;

  /** Lifts the destination's lock, once. */
  private unlock(): Promise<void> {
    this.unlocking ??= (this.locked ?? Promise.resolve(undefined)).then(
      (d) => d?.run(['loopback-unlock', this.lockName]).then(() => undefined),
      () => undefined,
    ).catch(() => undefined).then(() => this.lockGuard?.release()).then(() => undefined);
    return this.unlocking;
  }
}
