// A Python program whose two workers count into a multiprocessing.shared_memory block (a file in
// its host's own /dev/shm): per-host state that a move or a failover must carry.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { kill, onHost, sharedDir, startDetached, waitFor } from './lab';

const program = path.join(sharedDir('shm'), 'counters.py');
writeFileSync(
  program,
  `# Two workers count into a shared block, each in its own 8-byte slot; the program writes the
# block's name to argv[1] and holds open the files named after it.
import multiprocessing as mp, os, struct, sys, time
from multiprocessing import shared_memory

def work(name, slot):
    block = shared_memory.SharedMemory(name=name)
    while True:
        n, = struct.unpack_from('<Q', block.buf, slot * 8)
        struct.pack_into('<Q', block.buf, slot * 8, n + 1)
        time.sleep(0.05)

if __name__ == '__main__':
    held = [open(p, 'rb') for p in sys.argv[2:]]
    block = shared_memory.SharedMemory(create=True, size=1 << 20)
    with open(sys.argv[1] + '.part', 'w') as f:
        f.write(block.name)
    os.rename(sys.argv[1] + '.part', sys.argv[1])
    workers = [mp.Process(target=work, args=(block.name, i)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
`,
);

/** The two counters in the block on `host` (none if the file is not there). */
export async function counters(host: string, shm: string): Promise<number[]> {
  const out = await onHost(host, `od -An -tu8 -N16 ${shm} 2>/dev/null || true`);
  return out.split(/\s+/).filter(Boolean).map(Number);
}

/** Starts the program on `host` (`tag` names its files; `elsewhere` is where it may end up,
 * cleaned too) and waits until both workers count. */
export async function startCounters(
  host: string,
  elsewhere: string,
  cleanup: (() => Promise<void>)[],
  tag: string,
  holdOpen: string[] = [],
): Promise<{ pid: number; shm: string }> {
  const nameFile = `/tmp/${tag}.name`;
  await onHost(host, `rm -f ${nameFile}`);
  const pid = await startDetached(host, `python3 ${program} ${nameFile} ${holdOpen.join(' ')}`);
  cleanup.push(() => kill(host, pid), () => kill(elsewhere, pid));
  await waitFor(async () => (await onHost(host, `cat ${nameFile} 2>/dev/null || true`)) !== '', 30_000);
  const shm = `/dev/shm/${await onHost(host, `cat ${nameFile}`)}`;
  cleanup.push(async () => void (await onHost(host, `rm -f ${shm} ${nameFile}`)), async () => void (await onHost(elsewhere, `rm -f ${shm}`)));
  await waitFor(async () => {
    const c = await counters(host, shm);
    return c.length === 2 && c.every((n) => n > 3);
  }, 30_000);
  return { pid, shm };
}

/** Both counters of the block on `host` pass `from` (each by more than a few counts). */
export async function advancing(host: string, shm: string, from: number[]): Promise<void> {
  await waitFor(async () => {
    const c = await counters(host, shm);
    return c.length === 2 && c.every((n, i) => n > from[i] + 5);
  }, 20_000);
}
