// A checkpoint for a standby host (protect): stop-and-copy's stream up to the images on the
// destination, but the dump leaves the process running (--leave-running) and nothing is
// restored. The destination keeps the images for a failover; the freeze is the dump alone.
import { pageSocket } from '../pageTunnel';
import type { StrategyContext } from './context';

/** Resolves with the directory on the destination that holds the complete checkpoint, and when
 * the process ran on after its dump (ms since the epoch). */
export async function standbyCheckpoint(migration: StrategyContext): Promise<{ dir: string; takenAt: number }> {
  const { checkpoint, pid, from, to, images } = migration;
  const { report } = migration;
  const leaveRunning = checkpoint.leaveRunningOption?.();
  // The report's options are named by side (preflightRun.ts).
  if (leaveRunning) report.options = report.options.map((o) => (o.option === 'dump --leave-stopped' ? { option: `dump ${leaveRunning.option}`, reason: leaveRunning.reason } : o));

  migration.progress('connect', `preparing ${to}: image directories and page server`);
  const { sourceDir, destinationDir, receiver, tunnel } = await migration.phase('connect', async () => {
    const [sourceDir, destinationDir] = await Promise.all([images.directory('source'), images.directory('destination')]);
    const receiving = checkpoint.receivePages(migration.destination, destinationDir, pageSocket(destinationDir));
    receiving.then((r) => migration.onRollback(`stop the page server on ${to}`, () => r.stop()), () => undefined);
    const tunnel = await images.tunnel('source', { source: sourceDir, destination: destinationDir });
    return { sourceDir, destinationDir, receiver: await receiving, tunnel };
  });
  migration.checkCancelled();

  migration.progress('dump', `checkpointing process ${pid} on ${from}; it runs on`);
  await migration.freeze();
  await migration.phase('dump', () => checkpoint.dump(migration.source, pid, sourceDir, migration.plan, tunnel.socket, { leaveRunning: true }));
  migration.ranOn();
  const takenAt = Date.now();

  migration.progress('transfer', `sending the remaining images to ${to}`);
  const closing = await migration.phase('transfer', () => images.sendRemainingImages(receiver.done, tunnel, sourceDir, destinationDir));
  await closing;
  await migration.keep(destinationDir);
  return { dir: destinationDir, takenAt };
}
