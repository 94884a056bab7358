// CRIU's own post-copy, by hand (https://criu.org/Lazy_migration): the baseline for procmig's
// post-copy, as `baseline` is for stop-and-copy. One `ssh` per step from the root namespace, over
// a connection per host kept open (ControlMaster, opened by the setup step), as CRIU.md timed it:
//   lab-a  criu dump --lazy-pages --address A --port P   (in the background: it serves the pages)
//   lab-a  scp -r of the images (all but the memory) lab-a → lab-b
//   lab-b  criu lazy-pages --page-server --address A --port P   (in the background)
//   lab-b  criu restore --lazy-pages -d                  (the process runs on lab-b: freeze ends)
//   lab-b  wait until the lazy-pages daemon exits         (every page arrived)
// Both background steps wait for CRIU's --status-fd byte (the images are written, the daemon
// listens), as a user would wait for the command to say so. The dump kills the original once
// it served the last page. Uffd needs fs.pipe-max-size ≥ 4 MiB on lab-a (CRIU.md).
import { CRIU, DESTINATION, DESTINATION_ADDRESS, SOURCE, SOURCE_ADDRESS, now, oneLine, ssh } from './lab';
import { MethodError, logTail, must, type MigrationMethod } from './methods';

/** Starts CRIU's `args` detached in `dir` and prints its PID once it wrote its status byte;
 * exits 9 if CRIU ended before (its log says why). */
function startReady(dir: string, args: string, out = '/dev/null'): string {
  return [
    `rm -f ${dir}/.ready && mkfifo ${dir}/.ready || exit 1`,
    `setsid ${CRIU} ${args} --status-fd 3 3>${dir}/.ready </dev/null >${out} 2>&1 &`,
    'echo $!',
    `got=$(head -c 1 ${dir}/.ready | od -An -c | tr -d ' '); rm -f ${dir}/.ready`,
    `[ "$got" = '\\0' ] || exit 9`,
  ].join('\n');
}

/** Waits until process `pid` is gone (or a zombie: the host's init reaps orphans slowly). */
const waitGone = (pid: number) => `while [ -e /proc/${pid} ] && [ "$(cut -d' ' -f3 /proc/${pid}/stat 2>/dev/null)" != Z ]; do sleep 0.02; done`;

const kept = { kept: true };

export const lazyPagesByHand: MigrationMethod = async (run, workers, sample) => {
  if (workers.length !== 1) throw new MethodError('lazy pages by hand is measured for one process', true);
  const [w] = workers;
  const dir = `${run.images}/lazy-${sample}`;
  const d = `${dir}/${w.pid}`;
  const phases: Record<string, number> = { setup: 0, dump: 0, copy: 0, 'lazy-pages': 0, restore: 0, pages: 0, cleanup: 0 };
  let dumpPid = 0;
  let daemonPid = 0;
  let restored = false;
  const t0 = now();
  try {
    // A port nobody listens on, for the dump's page server.
    const [port] = await Promise.all([
      must(SOURCE, `python3 -c 'import socket; s = socket.socket(); s.bind(("${SOURCE_ADDRESS}", 0)); print(s.getsockname()[1])'`, 'free port', kept),
      must(DESTINATION, `mkdir -p ${dir}`, 'mkdir', kept),
    ]);
    phases.setup = now() - t0;

    const tDump = now();
    const dump = await ssh(
      SOURCE,
      `mkdir -p ${d} || exit 1\n${startReady(d, `dump -t ${w.pid} -D ${d} --lazy-pages --address ${SOURCE_ADDRESS} --port ${Number(port)} -o dump.log`)}\ndu -sb --exclude='pages-*.img' ${d}`,
      kept,
    );
    dumpPid = Number(dump.stdout.split('\n')[0]) || 0;
    if (dump.code !== 0) {
      const why = await logTail(SOURCE, `${d}/dump.log`);
      throw new MethodError(`criu dump --lazy-pages of ${w.pid} failed (exit ${dump.code}): ${why}`, /page-pipe: tee|uffd/i.test(why));
    }
    const imageBytes = Number(dump.stdout.trim().split('\n').pop()?.split(/\s+/)[0]) || 0;
    const tCopy = now();
    await must(SOURCE, `scp -q -r ${run.hostToHostSsh} ${d} ${DESTINATION_ADDRESS}:${dir}/`, 'scp', kept);
    const tDaemon = now();
    const daemon = await ssh(DESTINATION, startReady(d, `lazy-pages -D ${d} --page-server --address ${SOURCE_ADDRESS} --port ${Number(port)} -o lazy-pages.log`), kept);
    daemonPid = Number(daemon.stdout.split('\n')[0]) || 0;
    if (daemon.code !== 0) throw new MethodError(`criu lazy-pages on ${DESTINATION} failed (exit ${daemon.code}): ${await logTail(DESTINATION, `${d}/lazy-pages.log`)}`);
    const tRestore = now();
    const restore = await ssh(DESTINATION, `${CRIU} restore -D ${d} --lazy-pages -d -o restore.log`, kept);
    if (restore.code !== 0) throw new MethodError(`criu restore --lazy-pages of ${w.pid} failed (exit ${restore.code}): ${await logTail(DESTINATION, `${d}/restore.log`)}`);
    restored = true;
    const tPages = now();
    // Every page is in once the daemon is done; the memory then resident is what it pulled.
    const rss = await must(DESTINATION, `${waitGone(daemonPid)}\nawk '/^RssAnon:/ {print $2}' /proc/${w.pid}/status`, 'waiting for the pages', kept);
    const tCleanup = now();
    // The dump ends (and kills the original) once it served the last page.
    await Promise.all([must(SOURCE, `${waitGone(dumpPid)}; rm -rf ${dir}`, 'cleanup', kept), must(DESTINATION, `rm -rf ${dir}`, 'cleanup', kept)]);
    const tDone = now();
    Object.assign(phases, { dump: tCopy - tDump, copy: tDaemon - tCopy, 'lazy-pages': tRestore - tDaemon, restore: tPages - tRestore, pages: tCleanup - tPages, cleanup: tDone - tCleanup });
    const freezeMs = tPages - tDump;
    return {
      freezeMs,
      totalMs: tDone - t0,
      // The images copied, and the memory the daemon pulled (anonymous, resident at the end).
      bytes: imageBytes + (Number(rss) || 0) * 1024,
      phases,
      destinationPids: new Map([[w.pid, w.pid]]),
      perProcess: [{ pid: w.pid, freezeMs }],
    };
  } catch (err) {
    // Stop what runs of CRIU; the bench kills the processes on both hosts.
    await Promise.all([
      ssh(SOURCE, `${dumpPid ? `kill -KILL ${dumpPid} 2>/dev/null;` : ''} rm -rf ${dir}`),
      ssh(DESTINATION, `${daemonPid ? `kill -KILL ${daemonPid} 2>/dev/null;` : ''} rm -rf ${dir}`),
    ]);
    throw err instanceof MethodError ? err : new MethodError(`lazy pages by hand${restored ? ' after the restore' : ''}: ${oneLine(String(err))}`);
  }
};
