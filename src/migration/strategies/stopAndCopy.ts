// Stop-and-copy, streamed: the process is frozen once, and its memory travels while CRIU dumps
// it. CRIU's page server on the destination receives the pages through a tunnel opened before
// the freeze, so dump and transfer overlap; only the small non-memory images follow after the
// dump. We chose the page server over dumping to disk and streaming the directory because
// memory is nearly all the bytes and CRIU writes it to the socket as it reads it, with no second
// pass over a disk copy. The tunnel goes host to host over OpenSSH when the source reaches the
// destination (pageTunnel.ts): relayed through this machine by ssh2 it topped out at 60–80 MiB/s,
// making this ~2× the by-hand dump + scp + restore (bench/results).
//
// A large process's memory goes straight into its restored copy instead (strategy.ts says when):
// post-copy's lazy pages, with the copy held stopped until the last page arrived. It is still
// stop-and-copy: the process runs nowhere until all of it is on the destination, so a failure
// on the way resumes the source with nothing lost.
import type { ChosenOption } from '../../checkpoint/engine';
import { clauseFor } from '../errors';
import { pageSocket } from '../pageTunnel';
import type { StrategyContext } from './context';
import { restoreLazily } from './lazyRestore';

export async function stopAndCopy(migration: StrategyContext): Promise<void> {
  const option = migration.memoryIntoProcess;
  return option ? intoProcess(migration, option) : throughImages(migration);
}

async function intoProcess(migration: StrategyContext, option: ChosenOption): Promise<void> {
  const { from, to } = migration;
  migration.report.options.push(option);
  const { restored, pagesDone, closeTunnel } = await restoreLazily(migration, {
    leaveStopped: true,
    restoring: `restoring the process on ${to}, held stopped until its memory is in`,
  });
  migration.hold(restored);
  migration.progress('memory', `moving the memory from ${from} into the held copy on ${to}`);
  try {
    await migration.phase('memory', () => pagesDone);
  } catch (err) {
    throw new Error(`Moving the memory from ${from} to ${to} failed (${clauseFor(err)}); the copy there had not run yet, so the process keeps running on ${from} with nothing lost.`);
  }
  migration.checkCancelled();
  await migration.verify(restored);
  await closeTunnel();
  await migration.commit();
}

async function throughImages(migration: StrategyContext): Promise<void> {
  const { checkpoint, pid, from, to, images } = migration;

  // Early event request: everything the destination needs is up before the freeze.
  migration.progress('connect', `preparing ${to}: image directories and page server`);
  const { sourceDir, destinationDir, receiver, tunnel, copy } = await migration.phase('connect', async () => {
    // Directories and tunnel are under way since the preflight (ImageRoute.prepareEarly).
    const route = await images.prepare();
    const copy = images.openCopy(route.sourceDir, route.destinationDir);
    const receiver = await checkpoint.receivePages(migration.destination, route.destinationDir, pageSocket(route.destinationDir));
    migration.onRollback(`stop the page server on ${to}`, () => receiver.stop());
    return { ...route, receiver, copy };
  });
  migration.checkCancelled();

  migration.progress('dump', `freezing and checkpointing process ${pid} on ${from}`);
  await migration.freeze();
  await migration.phase('dump', () => checkpoint.dump(migration.source, pid, sourceDir, migration.plan, tunnel.socket));

  migration.progress('transfer', `sending the remaining images to ${to}`);
  const { closing } = await migration.phase('transfer', () => images.sendRemainingImages(receiver.done, tunnel, copy));
  migration.checkCancelled();

  migration.progress('restore', `restoring the process on ${to}`);
  const restored = await migration.phase('restore', () => checkpoint.restore(migration.destination, destinationDir, migration.plan));
  // The restored process needs its images no more, nor does a rollback (it resumes the source):
  // they go (they hold its memory) while it is verified, once the tunnel wound down (it runs
  // from the image directories).
  const cleared = closing.then(() => images.removeMemory());
  cleared.catch(() => undefined); // awaited below, after the verify
  await migration.verify(restored);
  await cleared;
  await migration.commit();
}
