// The engine the CLI and the extension share: hosts, the checkpoint engine, and migrations.
import { parseCapabilities } from '../checkpoint/capabilities';
import { CriuEngine } from '../checkpoint/criu';
import type { CheckpointEngine } from '../checkpoint/engine';
import { HostHelper } from '../checkpoint/hostHelper';
import { parseProcessList } from '../checkpoint/processList';
import { HostPool } from '../transport/hostPool';
import type { Engine, EngineOptions, HostReport, MigrateOptions, MigrationRequest, MigrationResult, ProcessInfo } from './api';
import { sentenceFor } from './errors';
import { MigrationSession } from './session';
import { stopAndCopy } from './strategies/stopAndCopy';
import { chooseStrategy } from './strategy';

export function createEngine(options: EngineOptions = {}, checkpoint: CheckpointEngine = new CriuEngine()): Engine {
  const pool = new HostPool(options);
  const log = options.log ?? (() => undefined);
  const helper = async (host: string) => HostHelper.for(await pool.get(host));

  return {
    async listProcesses(host: string): Promise<ProcessInfo[]> {
      return parseProcessList(await (await helper(host)).run(['ps']));
    },

    async checkHost(host: string): Promise<HostReport> {
      try {
        const caps = parseCapabilities(host, await (await helper(host)).run(['caps']));
        return { host, reachable: true, capabilities: caps, problems: checkpoint.hostProblems(caps) };
      } catch (err) {
        return { host, reachable: false, problems: [sentenceFor(err)] };
      }
    },

    async migrate(request: MigrationRequest, migrateOptions?: MigrateOptions): Promise<MigrationResult> {
      const choice = chooseStrategy(request.strategy);
      const session = new MigrationSession({ hosts: pool, checkpoint, log }, request, migrateOptions, choice.strategy, choice.reason);
      try {
        session.checkCancelled();
        await session.connect();
        await session.preflight();
        session.checkCancelled();
        await stopAndCopy(session);
      } catch (err) {
        await session.fail(err);
      }
      return session.finish();
    },

    dispose: () => pool.close(),
  };
}
