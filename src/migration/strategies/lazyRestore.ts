// The lazy-pages way, shared by post-copy and by stop-and-copy straight into the process: CRIU
// dumps everything but memory on the source and then serves the pages; the destination restores
// from the small images, and its lazy-pages daemon pulls the pages through an SSH tunnel (on
// fault, and the rest in the background). The tunnel goes host to host over OpenSSH when the
// source reaches the destination (pageTunnel.ts). The source's page server connects through it
// as its dump starts, to the destination's lazy-pages daemon, which listens from before the
// freeze and holds the connection until the images are in: CRIU takes a connection only as it
// starts, and a listening TCP port would be open to any local user.
import type { RestoredProcess } from '../../checkpoint/engine';
import { pageSocket } from '../pageTunnel';
import type { StrategyContext } from './context';

export interface LazyRestore {
  restored: RestoredProcess;
  /** Settles when the last page has moved. */
  pagesDone: Promise<void>;
  closeTunnel(): Promise<void>;
}

/** Freezes, dumps and restores; the pages are still on their way when it resolves. A held copy
 * (`leaveStopped`) stays stopped on the destination until the strategy has it verified. */
export async function restoreLazily(migration: StrategyContext, { leaveStopped, restoring }: { leaveStopped: boolean; restoring: string }): Promise<LazyRestore> {
  const { checkpoint, pid, from, to, images } = migration;

  migration.progress('connect', `preparing image directories on ${from} and ${to}, and the page tunnel`);
  // All up before the freeze, so it costs the frozen process nothing.
  const { sourceDir, destinationDir, pager, tunnel, copy } = await migration.phase('connect', async () => {
    const route = await images.prepare();
    const copy = images.openCopy(route.sourceDir, route.destinationDir);
    const pager = await checkpoint.fetchPagesLazily(migration.destination, route.destinationDir, pageSocket(route.destinationDir));
    migration.onRollback(`stop the lazy-pages daemon on ${to}`, () => pager.stop());
    return { ...route, pager, copy };
  });
  migration.checkCancelled();

  migration.progress('dump', `freezing process ${pid} on ${from} and checkpointing all but its memory`);
  await migration.freeze();
  const pageSource = await migration.phase('dump', () => checkpoint.dumpLazily(migration.source, pid, sourceDir, migration.plan, tunnel.socket));
  migration.onRollback(`stop serving pages on ${from}`, () => pageSource.stop());

  migration.progress('transfer', `sending the non-memory state to ${to}`);
  await migration.phase('transfer', () => copy.send());
  migration.checkCancelled();

  migration.progress('restore', restoring);
  return migration.phase('restore', async () => {
    await pager.start();
    const restored = await checkpoint.restore(migration.destination, destinationDir, migration.plan, { lazy: true, leaveStopped });
    return { restored, pagesDone: Promise.all([pager.done, pageSource.done]).then(() => undefined), closeTunnel: () => tunnel.close() };
  });
}
