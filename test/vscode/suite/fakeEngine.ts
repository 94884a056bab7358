// An Engine with canned answers, for view logic that must not depend on the machine.
import type { BatchRequest, BatchResult, Engine, HostReport, MigrateOptions, MigrationRequest, MigrationResult, ProcessInfo, SetUpOptions, Feasibility, HostState } from '../../../src/migration/api';

export function proc(pid: number, ppid: number, uid: number, name: string, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, ppid, uid, user: uid === 0 ? 'root' : `u${uid}`, cpu: 0.5, rssKiB: 2048, name, command: `/usr/bin/${name} --flag`, state: 'S', ...extra };
}

export function result(request: MigrationRequest, ok = true, extra: Partial<MigrationResult> = {}): MigrationResult {
  return {
    ok,
    from: request.from,
    to: request.to,
    sourcePid: request.pid,
    destinationPid: ok ? request.pid : undefined,
    strategy: 'stop-and-copy',
    strategyReason: 'Small process: copying it whole is fastest.',
    phases: { preflight: 120, connect: 40, freeze: 5, dump: 310, transfer: 820, restore: 260, verify: 12, cleanup: 30 },
    freezeMs: 1395,
    totalMs: 1597,
    bytes: 48 * 1024 * 1024,
    options: [
      { option: '--shell-job', reason: 'The process has a controlling terminal.' },
      { option: '--tcp-established', reason: 'It holds an open TCP connection.' },
    ],
    startedAt: new Date().toISOString(),
    error: ok ? undefined : 'CRIU could not dump the process: it uses a device CRIU cannot checkpoint; stop using it first.',
    ...extra,
  };
}

export class FakeEngine implements Engine {
  readonly migrations: MigrationRequest[] = [];
  constructor(
    public processes: Record<string, ProcessInfo[] | Error>,
    public reports: Record<string, HostReport> = {},
  ) {}

  async listProcesses(host: string): Promise<ProcessInfo[]> {
    const answer = this.processes[host];
    if (answer instanceof Error) throw answer;
    if (!answer) throw new Error(`Unknown host ${host}: add a Host entry for it.`);
    return answer;
  }

  async checkHost(host: string): Promise<HostReport> {
    return this.reports[host] ?? { host, reachable: false, problems: [`${host} is not in the fake.`] };
  }

  readonly setUps: string[] = [];
  async setUpHost(host: string, options?: SetUpOptions): Promise<{ steps: string[]; report: HostReport }> {
    this.setUps.push(host);
    const steps = ['criu: 4.2.1, already installed at /usr/local/sbin/criu', 'tmux: tmux 3.3a, already installed'];
    for (const s of steps) options?.onStep?.(s);
    return { steps, report: await this.checkHost(host) };
  }

  async checkFeasible(request: MigrationRequest): Promise<Feasibility> {
    return { host: request.to, feasible: true, problems: [], rssKiB: 1024, cpuCores: 0 };
  }

  async measureHost(host: string): Promise<HostState> {
    return { host, measuredAt: Date.now(), cpus: 2, load1PerCore: 0, load5PerCore: 0, memAvailableKiB: 8 << 20, diskAvailableKiB: 8 << 20 };
  }

  async migrate(request: MigrationRequest, options?: MigrateOptions): Promise<MigrationResult> {
    this.migrations.push(request);
    options?.onProgress?.({ phase: 'dump', message: 'dumping' });
    return result(request);
  }

  async migrateMany(request: BatchRequest, options?: MigrateOptions): Promise<BatchResult> {
    const processes = await Promise.all(request.pids.map((pid) => this.migrate({ pid, from: request.from, to: request.to }, options)));
    return { ok: true, from: request.from, to: request.to, freezeMs: 1395, totalMs: 1597, bytes: 0, processes };
  }

  async tracerOf(): Promise<undefined> {
    return undefined;
  }

  async stopTracer(): Promise<void> {}

  async processState(host: string, pid: number): Promise<'running' | 'gone'> {
    const answer = this.processes[host];
    return Array.isArray(answer) && answer.some((p) => p.pid === pid) ? 'running' : 'gone';
  }

  async fromLogin(_host: string, pids: readonly number[]): Promise<number[]> {
    return [...pids];
  }

  async listenerOf(): Promise<undefined> {
    return undefined;
  }

  async dispose(): Promise<void> {}
}
