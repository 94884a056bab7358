// Stop-and-copy, streamed: the process is frozen once, and its memory travels while CRIU dumps
// it. CRIU's page server on the destination receives the pages through a tunnel opened before
// the freeze, so dump and transfer overlap; only the small non-memory images follow after the
// dump. We chose the page server over dumping to disk and streaming the directory because
// memory is nearly all the bytes and CRIU writes it to the socket as it reads it, with no second
// pass over a disk copy. The tunnel goes host to host over OpenSSH when the source reaches the
// destination (pageTunnel.ts): relayed through this machine by ssh2 it topped out at 60–80 MiB/s,
// making this ~2× the by-hand dump + scp + restore (bench/results).
import { pageSocket } from '../pageTunnel';
import type { MigrationSession } from '../session';

export async function stopAndCopy(session: MigrationSession): Promise<void> {
  const { checkpoint } = session.deps;
  const { pid, from, to } = session.request;

  // Early event request: everything the destination needs is up before the freeze.
  session.progress('connect', `preparing ${to}: image directories and page server`);
  const { sourceDir, destinationDir, receiver, tunnel } = await session.timeline.phase('connect', async () => {
    const [sourceDir, destinationDir] = await Promise.all([session.imageDirectory('source'), session.imageDirectory('destination')]);
    // The page server starts while the tunnel's keys are made.
    const receiving = checkpoint.receivePages(session.destination, destinationDir, pageSocket(destinationDir));
    receiving.then((r) => session.rollback.add(`stop the page server on ${to}`, () => r.stop()), () => undefined);
    const tunnel = await session.pageTunnel('source', { source: sourceDir, destination: destinationDir });
    return { sourceDir, destinationDir, receiver: await receiving, tunnel };
  });
  session.checkCancelled();

  session.progress('dump', `freezing and checkpointing process ${pid} on ${from}`);
  await session.freeze();
  await session.timeline.phase('dump', () => checkpoint.dump(session.source, pid, sourceDir, session.plan, tunnel.socket));

  session.progress('transfer', `sending the remaining images to ${to}`);
  const closing = await session.timeline.phase('transfer', () => session.sendRemainingImages(receiver.done, tunnel, sourceDir, destinationDir));
  session.checkCancelled();

  session.progress('restore', `restoring the process on ${to}`);
  const restored = await session.timeline.phase('restore', () => checkpoint.restore(session.destination, destinationDir, session.plan));
  await session.verify(restored);
  await closing;
  await session.commit();
  await session.removeImages();
}
