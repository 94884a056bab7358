// Protection's engine side: checkpoints of a running process kept on a standby host, and the
// restore from one there after its host is lost. A checkpoint is a migration session that stops
// short (strategies/standbyCheckpoint.ts): the same preflight, options and stream, no restore.
import type { CheckpointEngine } from '../checkpoint/engine';
import { formatKiB } from '../common/format';
import { parseCapabilities } from '../helper/capabilities';
import { HostHelper } from '../helper/hostHelper';
import { parseInspection } from '../helper/inspection';
import type { MigrateOptions, MigrationRequest, Protection, StandbyCheckpoint, StandbyCheckpointResult } from './api';
import { sentenceFor } from './errors';
import { treeRssKiB } from './preflight';
import { MigrationSession, type HostSource } from './session';
import { standbyCheckpoint } from './strategies/standbyCheckpoint';

export interface StandbyDeps {
  hosts: HostSource;
  checkpoint: CheckpointEngine;
  log: (line: string) => void;
}

export function standbyProtection(deps: StandbyDeps): Protection {
  const helper = async (host: string) => HostHelper.for(await deps.hosts.get(host));
  return {
    async checkpoint(request: MigrationRequest, options?: MigrateOptions): Promise<StandbyCheckpointResult> {
      const session = new MigrationSession(deps, request, options);
      try {
        await session.connect();
        await session.preflight({ standby: true });
        const context = session.strategyContext({ strategy: 'stop-and-copy', reason: 'a checkpoint for the standby' });
        const { dir, takenAt, tmpfs } = await standbyCheckpoint(context);
        const result = session.finish();
        const checkpoint: StandbyCheckpoint = {
          pid: request.pid,
          from: request.from,
          standby: request.to,
          dir,
          takenAt,
          freezeMs: result.freezeMs,
          totalMs: result.totalMs,
          bytes: result.bytes,
          ...(result.transfer ? { transfer: result.transfer } : {}),
          options: result.options,
          plan: context.plan,
          ...(tmpfs.length ? { tmpfs } : {}),
        };
        return { ok: true, checkpoint };
      } catch (err) {
        await session.fail(err);
        return { ok: false, error: session.finish().error ?? sentenceFor(err) };
      }
    },

    async roomProblem({ pid, from, to }: MigrationRequest): Promise<string | undefined> {
      const [source, standby] = await Promise.all([helper(from), helper(to)]);
      const [inspection, sourceCaps, standbyCaps] = await Promise.all([
        source.run(['inspect', String(pid)]).then((out) => parseInspection(pid, out)),
        source.run(['caps']).then((out) => parseCapabilities(from, out)),
        standby.run(['caps']).then((out) => parseCapabilities(to, out)),
      ]);
      const size = treeRssKiB(inspection);
      if (standbyCaps.diskAvailableKiB < 2 * size) {
        return `${to} has ${formatKiB(standbyCaps.diskAvailableKiB)} free for images, less than the two checkpoints of process ${pid} (${formatKiB(size)} each) it must hold while a new one arrives; free space there or pick another standby.`;
      }
      if (sourceCaps.diskAvailableKiB < size) {
        return `${from} has ${formatKiB(sourceCaps.diskAvailableKiB)} free for images, less than a checkpoint of process ${pid} (${formatKiB(size)}), which is dumped there before it travels; free space there.`;
      }
      return undefined;
    },

    async restore(checkpoint: StandbyCheckpoint): Promise<{ pid: number }> {
      const standby = await helper(checkpoint.standby);
      // Its tmpfs files first, where CRIU expects them; taken back if it does not run.
      const placed = !!checkpoint.tmpfs?.length;
      if (placed) await standby.run(['tmpfs-place', checkpoint.dir]);
      const takeBack = () => (placed ? standby.run(['tmpfs-rm', checkpoint.dir]).then(() => undefined, () => undefined) : Promise.resolve());
      let restored;
      try {
        restored = await deps.checkpoint.restore(standby, checkpoint.dir, checkpoint.plan);
      } catch (err) {
        await takeBack();
        throw err;
      }
      const state = (await standby.run(['verify', String(restored.pid)])).trim();
      if (state !== 'running') {
        await standby.run(['signal-tree', 'KILL', String(restored.pid)]).catch(() => undefined);
        await takeBack();
        throw new Error(`Process ${checkpoint.pid} was restored on ${checkpoint.standby} from its checkpoint but is ${state} there right after; its checkpoint stays there.`);
      }
      return { pid: restored.pid };
    },

    async discard(checkpoint: StandbyCheckpoint): Promise<void> {
      await (await helper(checkpoint.standby)).run(['rmimages', checkpoint.dir]);
    },

    async started(host: string, pid: number) {
      const [boot = '', start = 'gone'] = (await (await helper(host)).run(['started', String(pid)])).trim().split(' ');
      return { boot, start };
    },

    async signal(host: string, pid: number, signal: 'STOP' | 'CONT' | 'KILL'): Promise<void> {
      await (await helper(host)).run(['signal-tree', signal, String(pid)]);
    },
  };
}
