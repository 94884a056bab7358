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
