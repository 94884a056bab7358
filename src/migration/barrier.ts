// Lets parallel migrations freeze together. Each party either arrives (ready to freeze, and
// waits for the others) or leaves (failed before freezing), so nobody waits for a party that
// will never come.
export class Barrier {
  private pending: number;
  private readonly waiting: (() => void)[] = [];

  constructor(parties: number) {
    this.pending = parties;
  }

  party(): { arrive(): Promise<void>; leave(): void } {
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      if (--this.pending <= 0) for (const release of this.waiting.splice(0)) release();
    };
    return {
      arrive: () => {
        const released = this.pending <= 1 ? Promise.resolve() : new Promise<void>((r) => this.waiting.push(r));
        settle();
        return released;
      },
      leave: settle,
    };
  }
}

/**
 * Limits how many processes of a batch are frozen at once. Frozen together, eight dumps, streams
 * and restores share the hosts' few cores, and each process stays frozen until the slowest is
 * done (8 × 64 MiB on 2 cores: 5.2 s, against 1.2 s for one). With about a process per core
 * frozen at a time, each one's freeze stays close to a lone process's; the batch takes about as
 * long in total. The first process freezes at once, and the hosts are measured meanwhile
 * (freezeSlots.ts): what is idle beside its freeze opens the other slots.
 */
export class FreezeSlots {
  /** Slots free now; undefined until the first acquire asks the capacity. */
  private free?: number;
  private readonly waiting: (() => void)[] = [];

  /** `capacity` (every slot, the first one's included) is asked once, at the first acquire: the
   * batch is then prepared, so the hosts are measured beside a freeze, not the preparation. */
  constructor(private readonly capacity: () => Promise<number>) {}

  private ask(): void {
    if (this.free !== undefined) return;
    this.free = 1;
    void this.capacity().then(
      (n) => this.open(n - 1),
      () => undefined,
    );
  }

  /** `more` slots besides the first. */
  private open(more: number): void {
    this.free! += Math.max(0, more);
    this.pump();
  }

  /** One process's slot: `acquire` before its freeze, `release` once it runs again (idempotent). */
  slot(): { acquire(): Promise<void>; release(): void } {
    let state: 'idle' | 'waiting' | 'held' | 'done' = 'idle';
    let granted: () => void = () => undefined;
    return {
      acquire: () =>
        new Promise<void>((resolve) => {
          if (state !== 'idle') return resolve();
          state = 'waiting';
          granted = () => {
            if (state !== 'waiting') return this.give();
            state = 'held';
            resolve();
          };
          this.waiting.push(() => granted());
          this.ask();
          this.pump();
        }),
      release: () => {
        const held = state === 'held';
        state = 'done';
        if (held) this.give();
      },
    };
  }

  private give(): void {
    if (this.free !== undefined) this.free++;
    this.pump();
  }

  private pump(): void {
    while (this.free !== undefined && this.free > 0 && this.waiting.length) {
      this.free--;
      this.waiting.shift()!();
    }
  }
}
