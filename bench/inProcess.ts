// The rows that migrate inside this process with one engine kept for the whole run, where every
// CLI row starts a new `procmig` (cold: a new process, new connections, the helper checked again):
//   warm    the engine's second and later migrations, its connections and helpers already up
//           (as in VS Code once its tree lists the hosts);
//   vscode  the engine call the extension makes for Migrate Process… (src/ui/migrate/migrate.ts:
//           runMigration → engine.migrate): its ReconfigurableEngine and engine options (a log),
//           the tree's listing, the destination picker's host check and the way it readies to
//           the highlighted host (engine.prepareRoute) before it, and its
//           migrate options (progress, cancel signal, tracer question). The notification, history
//           and view refresh around it need a real VS Code and are not measured.
// Both use the engine bundled from the same tree as the CLI under test (env.ts: engine.js).
import { createRequire } from 'node:module';
import type { BatchResult, Engine, EngineOptions, MigrationResult } from '../src/migration/api';
import { DESTINATION, SOURCE, now, sshConfig } from './lab';
import { MethodError, outcomeOf, type MigrationMethod } from './methods';
import type { BenchRun } from './workload';

interface EngineModule {
  createEngine(options: EngineOptions): Engine;
  ReconfigurableEngine?: new (factory: (options: EngineOptions) => Engine, options: EngineOptions) => Engine;
}

export type InProcessKind = 'warm' | 'vscode';

/** The strategy both use: the CLI's default and the extension's `processMigrator.strategy`. */
const STRATEGY = 'auto';

export class InProcessEngines {
  private module?: EngineModule;
  private readonly engines = new Map<InProcessKind, Promise<Engine>>();
  /** What the engines were given to log (the extension's log.debug): counted, not kept. */
  logLines = 0;

  constructor(private readonly bundle: { path: string } | { missing: string }) {}

  method(kind: InProcessKind): MigrationMethod {
    return async (run, workers) => {
      const engine = await this.engine(kind, run);
      const pids = workers.map((w) => w.pid);
      if (kind === 'vscode') {
        // The destination picker checks each candidate host as it opens, and readies the way to
        // the one the user highlights; the user picks once it says ready, here at once, with no
        // time to think. (The tree listed both hosts already; it lists them again after each move.)
        engine.prepareRoute?.(SOURCE, DESTINATION);
        await engine.checkHost(DESTINATION);
      }
      const t0 = now();
      let result: MigrationResult | BatchResult;
      if (pids.length === 1) {
        result = await engine.migrate(
          { pid: pids[0], from: SOURCE, to: DESTINATION, strategy: STRATEGY },
          kind === 'vscode'
            ? { signal: new AbortController().signal, onProgress: () => this.logLines++, onTraced: async () => false }
            : undefined,
        );
      } else {
        if (kind === 'vscode') throw new MethodError('the vscode row moves one process (the extension’s batches call the same migrateMany as warm)', true);
        result = await engine.migrateMany({ pids, from: SOURCE, to: DESTINATION, strategy: STRATEGY });
      }
      const wallMs = now() - t0;
      if (kind === 'vscode') await Promise.all([engine.listProcesses(SOURCE), engine.listProcesses(DESTINATION)]);
      // The same JSON the CLI prints, so both read alike.
      return outcomeOf(JSON.parse(JSON.stringify(result)), STRATEGY, wallMs);
    };
  }

  /** The kind's engine, made on first use: hosts listed and checked, then one migration of a
   * small process that is not measured, so that every measured one is a later one. */
  private engine(kind: InProcessKind, run: BenchRun): Promise<Engine> {
    let made = this.engines.get(kind);
    if (!made) {
      made = this.make(kind, run);
      this.engines.set(kind, made);
      // A failed start is not kept: the next sample tries again.
      made.catch(() => this.engines.delete(kind));
    }
    return made;
  }

  private async make(kind: InProcessKind, run: BenchRun): Promise<Engine> {
    if ('missing' in this.bundle) throw new MethodError(this.bundle.missing, true);
    this.module ??= createRequire(__filename)(this.bundle.path) as EngineModule;
    const { createEngine, ReconfigurableEngine } = this.module;
    let engine: Engine;
    if (kind === 'vscode') {
      if (!ReconfigurableEngine) throw new MethodError('this tree has no src/ui/hosts/engineHost.ts (the extension’s engine)', true);
      // As src/extension.ts builds it: the ssh config, a log (its LogOutputChannel's debug).
      engine = new ReconfigurableEngine((options) => createEngine(options), { sshConfigFile: sshConfig, log: () => this.logLines++ });
    } else {
      // As the CLI builds it without -v and without a terminal.
      engine = createEngine({ sshConfigFile: sshConfig });
    }
    try {
      // The tree lists every host; opening the picker checks the destination.
      await Promise.all([engine.listProcesses(SOURCE), engine.listProcesses(DESTINATION), engine.checkHost(SOURCE), engine.checkHost(DESTINATION)]);
      const [w] = await run.startWorkers(1, 1);
      try {
        const first = await engine.migrate({ pid: w.pid, from: SOURCE, to: DESTINATION, strategy: STRATEGY });
        if (!first.ok) throw new MethodError(`the ${kind} engine's first (unmeasured) migration failed: ${first.error ?? 'no error given'}`);
      } finally {
        await Promise.all([run.kill(SOURCE, [w.pid]), run.kill(DESTINATION, [w.pid])]);
        run.forget([w.pid]);
      }
    } catch (err) {
      await engine.dispose().catch(() => undefined);
      throw err;
    }
    return engine;
  }

  async dispose(): Promise<void> {
    const engines = [...this.engines.values()];
    this.engines.clear();
    await Promise.allSettled(engines.map(async (e) => (await e).dispose()));
  }
}
