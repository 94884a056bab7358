// Measures each phase of a migration and the freeze window.
import type { PhaseName } from './api';

export class Timeline {
  readonly startedAt = new Date();
  private readonly t0 = performance.now();
  readonly phases: Partial<Record<PhaseName, number>> = {};
  private frozenAt?: number;
  private thawedAt?: number;
  private restoredAt?: number;

  /** Runs `work` as phase `name`, adding its duration (phases may repeat). */
  async phase<T>(name: PhaseName, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.phases[name] = Math.round((this.phases[name] ?? 0) + performance.now() - start);
    }
  }

  freeze() {
    this.frozenAt = performance.now();
  }

  /** The process runs again (on the destination, or on the source after a rollback). */
  thaw() {
    if (this.frozenAt !== undefined && this.thawedAt === undefined) this.thawedAt = performance.now();
  }

  /** The process runs on the destination (its restore returned): its downtime ends here, as
   * by hand, while the migration still checks it before the frozen original goes. */
  restored() {
    if (this.frozenAt !== undefined && this.thawedAt === undefined) this.restoredAt ??= performance.now();
  }

  get frozen(): boolean {
    return this.frozenAt !== undefined && this.thawedAt === undefined;
  }

  /** How long the process did not run: until it ran on the destination, once the migration
   * succeeded (`moved`); else until it ran again anywhere. */
  freezeMs(moved: boolean): number {
    if (this.frozenAt === undefined) return 0;
    return Math.round(((moved ? this.restoredAt : undefined) ?? this.thawedAt ?? performance.now()) - this.frozenAt);
  }

  get totalMs(): number {
    return Math.round(performance.now() - this.t0);
  }
}
