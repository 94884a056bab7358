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
import type { MigrationSession } from '../session';

export async function postCopy(session: MigrationSession): Promise<void> {
  const { checkpoint } = session.deps;
  const { pid, from, to } = session.request;

  session.progress('connect', `preparing image directories on ${from} and ${to}, and the page tunnel`);
  // All up before the freeze, so it costs the frozen process nothing.
  const { sourceDir, destinationDir, pager, tunnel } = await session.timeline.phase('connect', async () => {
    const route = await session.prepareImageRoute();
    const pager = await checkpoint.fetchPagesLazily(session.destination, route.destinationDir, pageSocket(route.destinationDir));
    session.rollback.add(`stop the lazy-pages daemon on ${to}`, () => pager.stop());
    return { ...route, pager };
  });
  session.checkCancelled();

  session.progress('dump', `freezing process ${pid} on ${from} and checkpointing all but its memory`);
  await session.freeze();
  const pageSource = await session.timeline.phase('dump', () => checkpoint.dumpLazily(session.source, pid, sourceDir, session.plan, tunnel.socket));
  session.rollback.add(`stop serving pages on ${from}`, () => pageSource.stop());

  session.progress('transfer', `sending the non-memory state to ${to}`);
  await session.timeline.phase('transfer', () => session.copyImages(sourceDir, destinationDir));
  session.checkCancelled();

  session.progress('restore', `restoring the process on ${to}; its memory follows on demand`);
  const restored = await session.timeline.phase('restore', async () => {
    await pager.start();
    const restored = await checkpoint.restore(session.destination, destinationDir, session.plan, { lazy: true });
    session.pagesDone = Promise.all([pager.done, pageSource.done]).then(() => undefined);
    return restored;
  });
  await session.verify(restored);

  session.progress('pages', `the process runs on ${to}; moving the rest of its memory from ${from}`);
  try {
    await session.timeline.phase('pages', () => session.pagesDone!);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/\.$/, '') : String(err);
    throw new Error(
      `Moving the memory from ${from} failed after the process had resumed on ${to} (${why}); it was resumed on ${from} as it was when frozen, and what it did on ${to} since is lost.`,
    );
  }
  await tunnel.close();
  await session.commit();
  await session.removeImages();
}
