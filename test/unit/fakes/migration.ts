// A fake of the migration layer's Engine (src/migration/api.ts), for the UI code above it.
import type { Engine } from '../../../src/migration/api';

/** An Engine that answers nothing and whose `dispose` settles only when the test says so. */
export class FakeEngine implements Engine {
  disposals = 0;
  private settle: Array<(error?: Error) => void> = [];

  listProcesses = async () => [];
  checkHost = async (host: string) => ({ host, reachable: true, problems: [] });
  checkFeasible = async (request: { to: string }) => ({ host: request.to, feasible: true, problems: [] });
  measureHost = async (host: string) => ({ host, measuredAt: Date.now(), cpus: 2, load1PerCore: 0, load5PerCore: 0, memAvailableKiB: 8 << 20, diskAvailableKiB: 8 << 20 });
  setUpHost = async (host: string) => ({ steps: [], report: { host, reachable: true, problems: [] } });
  migrate = async (): Promise<never> => {
    throw new Error('no migrations in these tests');
  };
  migrateMany = async (): Promise<never> => {
    throw new Error('no migrations in these tests');
  };
  tracerOf = async () => undefined;
  stopTracer = async () => undefined;
  processState = async () => 'gone' as const;
  listenerOf = async () => undefined;
  fromLogin = async (_host: string, pids: readonly number[]) => [...pids];

  dispose(): Promise<void> {
    this.disposals++;
    return new Promise((resolve, reject) => this.settle.push((error) => (error ? reject(error) : resolve())));
  }

  /** Ends the disposals under way, with `error` if given. */
  disposed(error?: Error): void {
    for (const settle of this.settle.splice(0)) settle(error);
  }
}
