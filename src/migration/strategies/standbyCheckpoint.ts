// A checkpoint for a standby host (protect): the migration's preflight and options, but the dump
// leaves the process running (--leave-running) and nothing is restored; the standby keeps the
// images for a failover. Unlike a migration the dump goes to the source's own (private) image
// directory, and the images travel after the process runs on: the freeze is the local dump
// alone, as short as CRIU by hand, instead of the dump paced by the link. They travel host to
// host over a one-time OpenSSH tunnel (imageRoute.ts), not through this machine, when they can.
import type { StrategyContext } from './context';

/** Resolves with the directory on the destination that holds the complete checkpoint, when
 * the process ran on after its dump (ms since the epoch), and the tmpfs files it keeps. */
export async function standbyCheckpoint(migration: StrategyContext): Promise<{ dir: string; takenAt: number; tmpfs: string[] }> {
  const { checkpoint, pid, from, to, images, report } = migration;
  // A tmpfs file cannot wait at its path on the standby (it would stand for a process that is
  // not there yet, and block the next checkpoint's): it is saved with the images, while the
  // tree is still frozen so that it matches the memory, and placed only by a failover's restore.
  const tmpfs = images.carriedPaths;
  const leaveRunning = tmpfs.length ? undefined : checkpoint.leaveRunningOption?.();
  // The report's options are named by side (preflightRun.ts).
  if (leaveRunning) report.options = report.options.map((o) => (o.option === 'dump --leave-stopped' ? { option: `dump ${leaveRunning.option}`, reason: leaveRunning.reason } : o));
  if (tmpfs.length) {
    report.options.push({ option: 'tmpfs files saved in the checkpoint', reason: `the tree uses ${tmpfs.join(', ')} on tmpfs: copied beside the images while it is frozen (the dump leaves it stopped, then it resumes), put in place on ${to} only if it fails over` });
  }
  migration.progress('connect', `preparing image directories on ${from} and ${to}`);
  const { sourceDir, destinationDir, send } = await migration.phase('connect', async () => {
    const [sourceDir, destinationDir] = await Promise.all([images.directory('source'), images.directory('destination')]);
    return { sourceDir, destinationDir, send: await images.checkpointRoute(sourceDir, destinationDir) };
  });
  migration.checkCancelled();

  migration.progress('dump', `checkpointing process ${pid} on ${from}; it runs on`);
  await migration.freeze();
  await migration.phase('dump', async () => {
    await checkpoint.dump(migration.source, pid, sourceDir, migration.plan, undefined, leaveRunning ? { leaveRunning: true } : undefined);
    if (tmpfs.length) {
      await migration.source.run(['tmpfs-save', sourceDir, ...tmpfs]);
      await migration.resumeSource();
    }
  });
  migration.ranOn();
  const takenAt = Date.now();

  migration.progress('transfer', `sending the checkpoint to ${to}`);
  await migration.phase('transfer', send);
  await migration.keep(destinationDir);
  return { dir: destinationDir, takenAt, tmpfs };
}
