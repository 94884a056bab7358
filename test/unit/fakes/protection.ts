// A fake of protection's host work (src/migration/automatic/protectionSteps.ts): a host that can go away
// and come back, a process that can end, and a record of what was done.
import type { ChosenOption } from '../../../src/migration/api';
import type { CheckpointTaken, ProbeAnswer, ProtectionSteps } from '../../../src/migration/automatic/protectionSteps';

export class FakeProtectionSteps implements ProtectionSteps {
  /** The protected host answers. */
  hostUp = true;
  /** The protected process runs there. */
  processRuns = true;
  startError?: Error;
  readonly calls: string[] = [];
  readonly committed: number[] = [];
  restoredPid = 4242;

  private record(call: string): void {
    this.calls.push(call);
  }

  private reach(): void {
    if (!this.hostUp) throw new Error('lab-a does not answer');
  }

  async start(): Promise<{ options: ChosenOption[] }> {
    this.record('start');
    if (this.startError) throw this.startError;
    return { options: [{ option: 'dump --leave-running', reason: 'fake' }] };
  }

  async checkpoint(generation: number, commit: () => boolean): Promise<CheckpointTaken | undefined> {
    this.reach();
    if (!this.processRuns) throw new Error('the process is gone');
    if (!commit()) return undefined;
    this.committed.push(generation);
    return { freezeMs: 3, bytes: 1000, storedBytes: 1000 };
  }

  async probe(): Promise<ProbeAnswer> {
    this.reach();
    return this.processRuns ? 'running' : 'gone';
  }

  async restore(generation: number): Promise<number> {
    this.record(`restore ${generation}`);
    return this.restoredPid;
  }

  async signalOld(signal: 'STOP' | 'CONT' | 'KILL'): Promise<void> {
    this.reach();
    this.record(`old ${signal}`);
  }

  async killRestored(pid: number): Promise<void> {
    this.record(`kill restored ${pid}`);
  }

  async end(): Promise<void> {
    this.record('end');
  }
}
