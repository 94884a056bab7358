// Stop-and-copy, streamed: the process is frozen once, and its memory travels while CRIU dumps
// it. CRIU's page server on the destination receives the pages (over an SSH-forwarded port),
// so dump and transfer overlap; only the small non-memory images follow after the dump. We
// chose the page server over dumping to disk and streaming the directory because memory is
// nearly all the bytes and CRIU writes it to the socket as it reads it, with no second pass
// over a disk copy. Measured (bench/results/latest.md): relayed through this machine by ssh2,
// the stream tops out at 60–80 MiB/s, so today this is ~2× the by-hand dump + scp + restore;
// streaming host to host when the hosts reach each other is the known next step.
import { bridgePort } from '../../transport/bridge';
import type { MigrationSession } from '../session';

export async function stopAndCopy(session: MigrationSession): Promise<void> {
  const { checkpoint } = session.deps;
  const { pid, from, to } = session.request;

  // Early event request: everything the destination needs is up before the freeze.
  session.progress('connect', `preparing ${to}: image directories and page server`);
  const { sourceDir, destinationDir, receiver, bridge } = await session.timeline.phase('connect', async () => {
    const [sourceDir, destinationDir] = await Promise.all([session.imageDirectory('source'), session.imageDirectory('destination')]);
    const receiver = await checkpoint.receivePages(session.destination, destinationDir);
    session.rollback.add(`stop the page server on ${to}`, () => receiver.stop());
    const bridge = await bridgePort(session.source.host, session.destination.host, receiver.port, session.transferred);
    session.rollback.add('close the page tunnel', () => bridge.close());
    return { sourceDir, destinationDir, receiver, bridge };
  });
  session.checkCancelled();

  session.progress('dump', `freezing and checkpointing process ${pid} on ${from}`);
  await session.freeze();
  await session.timeline.phase('dump', () => checkpoint.dump(session.source, pid, sourceDir, session.plan, bridge.port));

  session.progress('transfer', `sending the remaining images to ${to}`);
  await session.timeline.phase('transfer', async () => {
    await receiver.done;
    await bridge.close();
    await session.copyImages(sourceDir, destinationDir);
  });
  session.checkCancelled();

  session.progress('restore', `restoring the process on ${to}`);
  const restored = await session.timeline.phase('restore', () => checkpoint.restore(session.destination, destinationDir, session.plan));
  await session.verify(restored);
  await session.commit();
  await session.removeImages([
    { side: 'source', dir: sourceDir },
    { side: 'destination', dir: destinationDir },
  ]);
}
