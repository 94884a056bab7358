// Post-copy: the freeze covers only the process's non-memory state. CRIU dumps everything but
// memory on the source and then serves the pages; the destination restores at once and its
// lazy-pages daemon pulls pages on fault (and the rest in the background) through an SSH tunnel.
// Freeze time stays nearly flat as memory grows. The price: once the process runs on the
// destination it depends on the source until the last page arrived. If that fails, the source —
// still stopped, its memory intact — is resumed as it was when frozen, and what the process did
// on the destination in the meantime is lost. The preflight makes that rare: both page servers
// are CRIU's own, checked before the freeze, and the tunnel is open before it. The tunnel goes
// host to host over OpenSSH when the source reaches the destination (pageTunnel.ts): relayed
// through this machine the pages trickled in at 30–40 MiB/s (bench/results). The source's page
// server connects through it as its dump starts, to the destination's lazy-pages daemon, which
// listens from before the freeze and holds the connection until the images are in: CRIU takes
// a connection only as it starts, and a listening TCP port would be open to any local user.
import { pageSocket } from '../pageTunnel';
import type { StrategyContext } from './context';

export async function postCopy(migration: StrategyContext): Promise<void> {
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

  migration.progress('restore', `restoring the process on ${to}; its memory follows on demand`);
  const { restored, pagesDone } = await migration.phase('restore', async () => {
    await pager.start();
    const restored = await checkpoint.restore(migration.destination, destinationDir, migration.plan, { lazy: true });
    // Settles when the last page has moved.
    const pagesDone = Promise.all([pager.done, pageSource.done]).then(() => undefined);
    return { restored, pagesDone };
  });
  await migration.verify(restored);

  migration.progress('pages', `the process runs on ${to}; moving the rest of its memory from ${from}`);
  try {
    await migration.phase('pages', () => pagesDone);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/\.$/, '') : String(err);
    throw new Error(
      `Moving the memory from ${from} failed after the process had resumed on ${to} (${why}); it was resumed on ${from} as it was when frozen, and what it did on ${to} since is lost.`,
    );
  }
  await tunnel.close();
  await migration.commit();
}
