// The host-side guard of one migration (the helper's `guard`). The rollback runs here, so it
// cannot run when this machine dies or loses its connection mid-migration; the guard, started
// on each host before the freeze, then undoes on its own what it was told: the frozen source
// resumes, an uncommitted restored copy ends, image directories (process memory) and the tmpfs
// files carried with them are removed.
// Its trigger is the end of its stdin, which is this process's SSH channel (or pipe, locally).
import type { HostHelper } from '../helper/hostHelper';
import type { RunningCommand } from '../transport/host';

export class HostGuard {
  private released = false;

  private constructor(
    private readonly command: RunningCommand,
    private readonly log: (line: string) => void,
    private readonly host: string,
  ) {
    command.stdin.on('error', () => undefined); // a dropped connection is what it is for
  }

  static start(helper: HostHelper, log: (line: string) => void): HostGuard {
    return new HostGuard(helper.spawn(['guard']), log, helper.host.name);
  }

  /** The frozen tree to resume if the orchestrator goes away. */
  frozen(root: number, pids: number[]): void {
    this.tell(`tree ${root} ${pids.join(' ')}`);
  }

  /** The source's guard at the commit, once the destination's has let go: the frozen tree is
   * now to be killed, not resumed, should the orchestrator go away before it kills it. */
  committed(): void {
    this.tell('committed');
  }

  /** The restored copy to end if the orchestrator goes away before the commit. */
  restored(pid: number, terminalSession?: string): void {
    this.tell(`restored ${pid}${terminalSession ? ` ${terminalSession}` : ''}`);
  }

  images(dir: string): void {
    this.tell(`images ${dir}`);
  }

  /** Files tmpfs-in placed, as listed in image directory `dir`, to remove if the orchestrator
   * goes away before the commit. */
  tmpfsFiles(dir: string): void {
    this.tell(`tmpfs ${dir}`);
  }

  /** A loopback lock (batchLinks.ts) to lift if the orchestrator goes away. */
  loopbackLock(name: string): void {
    this.tell(`lock ${name}`);
  }

  /** Nothing is left to undo: the migration committed, or was rolled back from here. Resolves
   * once the guard has ended (so "release the destination, then kill the source" holds on the
   * hosts too) with whether it ended on `done`; if not, it may have undone what it was told. */
  async release(): Promise<boolean> {
    if (this.released) return true;
    this.released = true;
    this.command.stdin.end('done\n');
    const { code, connectionLost } = await this.command.exited;
    if (code === 0 && !connectionLost) return true;
    this.log(`the guard on ${this.host} ended with ${connectionLost ? 'a lost connection' : `exit ${code}`}`);
    return false;
  }

  private tell(line: string): void {
    if (!this.released) this.command.stdin.write(`${line}\n`);
  }
}
