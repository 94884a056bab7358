// Undo steps registered as a migration advances, run newest first when it fails. A failing step
// does not stop the others; its error is kept for the log (as go-criu's phaul joins them).
export class Rollback {
  private readonly steps: { what: string; undo: () => Promise<unknown> }[] = [];

  add(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step once, newest first; returns the failures as lines. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (err) {
        failures.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failures;
  }

  /** Forgets the steps (after success, their work must stay). */
  clear(): void {
    this.steps.length = 0;
  }
}
