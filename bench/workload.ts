// The processes the bench migrates, and everything the bench leaves on the hosts: one run id,
// files under /tmp/bench-<id> and images under /var/tmp/bench-<id> on each host, and only PIDs the
// bench started (checked against the run id in their command line before any kill).
import { readFileSync } from 'node:fs';
import { DESTINATION, DESTINATION_ADDRESS, SOURCE, labKey, labKnownHosts, onHost, q, sleep, ssh } from './lab';

/**
 * Holds `mib` MiB of non-zero, non-uniform memory: 1 MiB of random bytes repeated, every page
 * stamped with its index, all of it written (so resident). Writes the SHA-256 of that memory to
 * <sums>/<pid>.before at start and to <sums>/<pid>.after on SIGUSR1, wherever it runs by then;
 * answers SIGUSR2 at once with an empty <sums>/<pid>.alive (it runs, wherever that is).
 */
const MEMORY_HOLDER = `import hashlib, os, signal, sys, time
mib, sums = int(sys.argv[1]), sys.argv[2]
data = bytearray(os.urandom(1 << 20)) * mib
for i in range(0, len(data), 4096):
    data[i] = (i >> 12) & 0xFF or 1
def write(suffix):
    os.makedirs(sums, exist_ok=True)
    tmp = "%s/%d.%s.tmp" % (sums, os.getpid(), suffix)
    with open(tmp, "w") as f:
        f.write(hashlib.sha256(data).hexdigest())
    os.rename(tmp, "%s/%d.%s" % (sums, os.getpid(), suffix))
write("before")
def alive(*_):
    tmp = "%s/%d.alive.tmp" % (sums, os.getpid())
    open(tmp, "w").close()
    os.rename(tmp, "%s/%d.alive" % (sums, os.getpid()))
signal.signal(signal.SIGUSR1, lambda *_: write("after"))
signal.signal(signal.SIGUSR2, alive)
while True:
    time.sleep(1)
`;

export class BenchRun {
  readonly id: string;
  readonly tmp: string;
  readonly images: string;
  readonly sums: string;
  readonly script: string;
  /** ssh options for lab-a → lab-b: the lab key and known_hosts, strict host-key checking. */
  readonly hostToHostSsh: string;
  private readonly started = new Set<number>();

  constructor() {
    this.id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
    this.tmp = `/tmp/bench-${this.id}`;
    this.images = `/var/tmp/bench-${this.id}`;
    this.sums = `${this.tmp}/sum`;
    this.script = `${this.tmp}/mem.py`;
    this.hostToHostSsh = [
      '-F /dev/null',
      `-i ${this.tmp}/ssh/id_ed25519`,
      '-o IdentitiesOnly=yes',
      `-o UserKnownHostsFile=${this.tmp}/ssh/known_hosts`,
      '-o StrictHostKeyChecking=yes',
      '-o BatchMode=yes',
    ].join(' ');
  }

  /** Creates the run's directories, the workload script, and lab-a's key for lab-a → lab-b. */
  async setUp(): Promise<void> {
    for (const host of [SOURCE, DESTINATION]) {
      await onHost(host, `mkdir -p -m 0700 ${this.tmp} ${this.images} ${this.sums}`);
    }
    await onHost(SOURCE, `cat > ${this.script}`, { input: MEMORY_HOLDER });
    await onHost(SOURCE, `mkdir -p -m 0700 ${this.tmp}/ssh && umask 077 && cat > ${this.tmp}/ssh/id_ed25519`, { input: readFileSync(labKey, 'utf8') });
    await onHost(SOURCE, `cat > ${this.tmp}/ssh/known_hosts`, { input: readFileSync(labKnownHosts, 'utf8') });
    await onHost(SOURCE, `ssh ${this.hostToHostSsh} ${DESTINATION_ADDRESS} true`);
  }

  /**
   * Starts `count` memory holders of `mib` MiB on lab-a (detached, own session), waits until each
   * has written its checksum, and makes sure none of their PIDs is in use on lab-b (restores keep
   * the PID; a taken one would fail for reasons that have nothing to do with the method).
   */
  async startWorkers(mib: number, count: number): Promise<Worker[]> {
    const workers: Worker[] = [];
    for (let attempt = 0; workers.length < count; attempt++) {
      if (attempt > 5) throw new Error(`could not start ${count} × ${mib} MiB on ${SOURCE} with PIDs free on ${DESTINATION}`);
      const need = count - workers.length;
      const launch = Array.from({ length: need }, () => `setsid /usr/bin/python3 ${this.script} ${mib} ${this.sums} </dev/null >/dev/null 2>&1 & echo $!`).join('\n');
      const pids = (await onHost(SOURCE, launch)).split('\n').map(Number);
      pids.forEach((p) => this.started.add(p));
      const sums = await this.waitForSums(SOURCE, pids, 'before', 60_000 + mib * 100);
      const taken = new Set(
        (await onHost(DESTINATION, `for p in ${pids.join(' ')}; do [ -e /proc/$p ] && echo $p; done; true`)).split('\n').filter(Boolean).map(Number),
      );
      for (const pid of pids) {
        if (taken.has(pid)) await this.kill(SOURCE, [pid]);
        else workers.push({ pid, mib, sumBefore: sums.get(pid)! });
      }
    }
    return workers;
  }

  /** Waits for <sums>/<pid>.<suffix> of every PID on `host`; returns PID → checksum. */
  async waitForSums(host: string, pids: number[], suffix: 'before' | 'after', timeoutMs: number): Promise<Map<number, string>> {
    const deadline = Date.now() + timeoutMs;
    const files = pids.map((p) => `${this.sums}/${p}.${suffix}`).join(' ');
    for (;;) {
      const r = await ssh(host, `for f in ${files}; do [ -s $f ] && printf '%s %s\\n' "$(basename $f)" "$(cat $f)"; done; true`);
      const found = new Map<number, string>();
      for (const line of r.stdout.split('\n')) {
        const m = /^(\d+)\.\w+ ([0-9a-f]{64})$/.exec(line.trim());
        if (m) found.set(Number(m[1]), m[2]);
      }
      if (found.size === pids.length) return found;
      if (Date.now() > deadline) {
        const missing = pids.filter((p) => !found.has(p));
        const states = await ssh(host, `for p in ${missing.join(' ')}; do printf '%s:%s ' $p "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null || echo gone)"; done`);
        throw new Error(`no ${suffix} checksum on ${host} from ${missing.join(', ')} after ${Math.round(timeoutMs / 1000)} s (states ${states.stdout.trim()})`);
      }
      await sleep(200);
    }
  }

  /**
   * Checks that the workers run on lab-b (not stopped, not zombies) and are gone from lab-a; with
   * `checksum`, also that their memory on lab-b hashes as it did on lab-a. Returns problems.
   */
  async verifyMoved(workers: Worker[], pids: Map<number, number>, checksum: boolean): Promise<string[]> {
    const problems: string[] = [];
    const dest = workers.map((w) => pids.get(w.pid) ?? w.pid);
    const states = await onHost(DESTINATION, `for p in ${dest.join(' ')}; do printf '%s ' "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null || echo gone)"; done`);
    states.split(/\s+/).forEach((s, i) => {
      if (!/^[RSD]$/.test(s)) problems.push(`PID ${dest[i]} on ${DESTINATION} is ${s === 'gone' ? 'not there' : `in state ${s}`}`);
    });
    const left = await onHost(SOURCE, `for p in ${workers.map((w) => w.pid).join(' ')}; do [ -e /proc/$p ] && echo $p; done; true`);
    if (left) problems.push(`still on ${SOURCE}: ${left.split('\n').join(', ')}`);
    if (problems.length || !checksum) return problems;
    await onHost(DESTINATION, `kill -USR1 ${dest.join(' ')}`);
    const mib = Math.max(...workers.map((w) => w.mib));
    try {
      const after = await this.waitForSums(DESTINATION, dest, 'after', 60_000 + mib * 60 * workers.length);
      workers.forEach((w, i) => {
        if (after.get(dest[i]) !== w.sumBefore) problems.push(`memory of ${w.pid} differs on ${DESTINATION} (sha256 ${after.get(dest[i])?.slice(0, 12)} ≠ ${w.sumBefore.slice(0, 12)})`);
      });
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
    return problems;
  }

  /**
   * A shell loop for the host where `pid` should come to run: once that PID is this run's
   * process (its restored command line, which CRIU sets near the end of a restore, while the
   * process still blocks signals), sends SIGUSR2 every 20 ms until the process answers. Exits 7
   * after about `limitS` s.
   */
  answers(pid: number, limitS: number): string {
    const alive = `${this.sums}/${pid}.alive`;
    return [
      `rm -f ${alive}; n=0`,
      `until [ -e ${alive} ]; do`,
      `  tr '\\0' ' ' < /proc/${pid}/cmdline 2>/dev/null | grep -q ${q(`bench-${this.id}/`)} && kill -USR2 ${pid} 2>/dev/null`,
      `  n=$((n + 1)); [ $n -lt ${Math.ceil(limitS * 40)} ] || exit 7; sleep 0.02`,
      'done',
    ].join('\n');
  }

  /** SIGKILLs those of `pids` on `host` that are this run's (run id in their command line). */
  async kill(host: string, pids: number[]): Promise<void> {
    if (!pids.length) return;
    await ssh(
      host,
      `for p in ${pids.join(' ')}; do tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q ${q(`bench-${this.id}/`)} && kill -KILL $p; done; rm -f ${pids.map((p) => `${this.sums}/${p}.*`).join(' ')}; true`,
    );
  }

  /** Kills every worker this run started, on both hosts (a restored process keeps its PID). */
  async killAll(): Promise<void> {
    const pids = [...this.started];
    await Promise.all([this.kill(SOURCE, pids), this.kill(DESTINATION, pids)]);
  }

  forget(pids: number[]): void {
    pids.forEach((p) => this.started.delete(p));
  }

  /** Removes everything the run left on both hosts. */
  async tearDown(): Promise<void> {
    await this.killAll();
    for (const host of [SOURCE, DESTINATION]) await ssh(host, `rm -rf ${this.tmp} ${this.images}`);
  }
}

export interface Worker {
  /** PID on lab-a (and on lab-b after the move: restores keep it). */
  pid: number;
  mib: number;
  sumBefore: string;
}
