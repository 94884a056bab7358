// The CRIU implementation of the checkpoint/restart interface.
import { versionAtLeast, type ParsedCapabilities } from '../helper/capabilities';
import { explainCriuFailure } from './criuLog';
import {
  CheckpointError,
  type CheckpointEngine,
  type ChosenOption,
  type CheckpointPlan,
  type DumpStats,
  type LazyPageFetcher,
  type PageService,
  type ProcessTraits,
  type RestoredProcess,
  type DumpOptions,
  type RoundOptions,
} from './engine';

type Context = Parameters<typeof explainCriuFailure>[1];
import { HelperError, parseKeyValues, type HostHelper } from '../helper/hostHelper';
import { startService, type HelperService } from '../helper/service';

/** 4.2 is the first CRIU that works on current kernels (vDSO layout, TCP socket options). */
export const MINIMUM_CRIU = '4.2';

/** The first descriptor the helper opens for --inherit-fd (0-3 are taken); the Nth substitute is
 * FIRST_INHERIT_FD + N. CRIU takes each over by number at its start, so any number serves; how
 * many a host can open is its `inheritFdsMax` (6 where the helper has POSIX sh alone). */
export const FIRST_INHERIT_FD = 4;

/** Options in a plan that the helper passes to CRIU itself: it dumps with --leave-stopped, and
 * adds --unprivileged to every CRIU it runs where that is how CRIU runs on its host. */
const HELPER_ADDS = ['--leave-stopped', '--unprivileged'];

export interface CriuEngineOptions {
  /** TEST ONLY: pre-copy without soft-dirty tracking. Each round is a whole dump that leaves
   * the process running (CRIU aborts any pre-dump without tracking) and rounds are not linked
   * (CRIU trusts a parent round only with tracking), so the freeze saves nothing; it exists so
   * the rounds' machinery runs end to end on kernels without soft-dirty. Never chosen by auto. */
  untrackedRounds?: boolean;
}

export class CriuEngine implements CheckpointEngine {
  readonly name = 'criu';

  constructor(private readonly options: CriuEngineOptions = {}) {}

  /** CRIU 4.2's dump_one_file; any other kind (io_uring, perf_event, userfaultfd, bpf programs
   * and links, …) fails the dump with "Can't dump file N of that type". bpf-map needs a CRIU
   * built with libbpf. */
  readonly anonInodeKinds = ['eventfd', 'eventpoll', 'inotify', 'fanotify', 'signalfd', 'timerfd', 'pidfd', 'bpf-map'] as const;

  hostProblems(caps: ParsedCapabilities): string[] {
    const h = caps.host;
    if (caps.privilege === 'none') {
      const as = caps.user ? ` as ${caps.user}` : '';
      return [
        `CRIU cannot run on ${h}${as}: run \`procmig setup ${h}\` once (with sudo, it gives a copy of CRIU the capabilities of its unprivileged mode, so it checkpoints your own processes without root), or connect as root, or allow passwordless sudo for criu there.`,
      ];
    }
    if (!caps.criuVersion) return [`CRIU is not installed on ${h}: run \`procmig setup ${h}\` (Set Up Host… in VS Code), which installs CRIU ${MINIMUM_CRIU}+ there.`];
    if (!versionAtLeast(caps.criuVersion, MINIMUM_CRIU)) {
      return [`${h} has CRIU ${caps.criuVersion}, older than ${MINIMUM_CRIU}: run \`procmig setup ${h}\` (Set Up Host… in VS Code), which installs 4.2.1 there.`];
    }
    if (caps.criuCheck && caps.criuCheck !== 'ok') return [`\`criu check\` fails on ${h} (${caps.criuCheck}); CRIU cannot work there until that is fixed.`];
    if (caps.pageSocketTool === '') {
      return [`${h} has neither perl nor python3, one of which hands CRIU its memory pages over a private unix socket there: install perl on ${h}.`];
    }
    return [];
  }

  hostNotes(caps: ParsedCapabilities): string[] {
    if (caps.criuProbeKept !== false) return [];
    const h = caps.host;
    return [
      `CRIU probes the kernel of ${h} anew on every run, about 45 ms before each freeze and each restore there: it keeps that probe (/run/criu.kdat) only on a tmpfs, and /run on ${h} is not one (a container's often is not: start it with one, e.g. \`docker run --tmpfs /run\`).`,
    ];
  }

  plan(traits: ProcessTraits, name?: string): CheckpointPlan {
    const both = (option: string, reason: string | undefined): ChosenOption[] => (reason ? [{ option, reason }] : []);
    const substitutes = traits.substitutes ?? [];
    const inherit = substitutes.map((s, n) => ({ fd: FIRST_INHERIT_FD + n, path: s.path, mode: s.mode }));
    const shared = [
      ...both('--shell-job', traits.shellJob),
      ...both('--tcp-close', traits.closeTcp),
      ...both('--tcp-established', traits.keepTcp),
      // CRIU's network lock keeps a running peer from sending while one end is dumped or
      // restored. Here the peer is frozen and dumped too, so only the kernel's keepalives move;
      // and its nftables lock would stay on the source after --leave-stopped. A batch's trees are
      // restored by separate CRIUs: the destination's loopback is locked meanwhile (batchLinks.ts).
      ...both('--network-lock=skip', traits.keepTcp && 'both ends of each kept connection are frozen and dumped together, so no peer can send on it meanwhile'),
      ...both('--file-locks', traits.fileLocks),
      ...both('--ext-unix-sk', traits.datagramPeers),
    ];
    return {
      dump: [
        { option: '--leave-stopped', reason: 'the source stays frozen, not killed, until the destination runs the process' },
        ...both('--unprivileged', traits.unprivilegedDump),
        ...shared,
        ...both('--link-remap', traits.unlinkedFiles),
        ...both(`--ghost-limit=${traits.ghostLimit?.bytes}`, traits.ghostLimit?.reason),
        // A connection to a process that stays: CRIU dumps our end alone, and the restore gives it a socket whose peer has closed.
        ...substitutes.filter((s) => s.mode === 'socket').map((s) => ({ option: `--external=unix[${/\d+/.exec(s.resource)?.[0]}]`, reason: s.reason })),
      ],
      restore: [
        traits.terminal
          ? {
              option: `tmux new-session -d -s ${terminalSession(name)}`,
              reason: `${traits.terminal}: it is restored in the foreground inside a new tmux session, whose terminal becomes its own and outlives the SSH session`,
            }
          : { option: '--restore-detached', reason: 'the restored process must outlive the SSH session that restored it' },
        ...both('--unprivileged', traits.unprivilegedRestore),
        // Else CRIU puts it back at its cgroup path of the source, which on another host is
        // someone else's, or nothing: it is accounted and limited as the destination's own.
        { option: '--manage-cgroups=ignore', reason: "the process joins the destination's own cgroup, whose limits and accounting are that host's, instead of its cgroup path on the source" },
        ...shared,
        ...inherit.map((i, n) => ({ option: `--inherit-fd fd[${i.fd}]:${substitutes[n].resource}`, reason: substitutes[n].reason })),
        ...(traits.nodes ?? []).map((n) => ({ option: n.kind === 'fifo' ? `mkfifo -m ${n.mode} ${n.path}` : `ln -s ${n.linkTarget} ${n.path}`, reason: n.reason })),
      ],
      ...(traits.terminal ? { terminalSession: terminalSession(name) } : {}),
      ...(inherit.length ? { inherit } : {}),
      ...(traits.nodes?.length ? { nodes: traits.nodes } : {}),
    };
  }

  postCopyProblem(source: ParsedCapabilities, destination: ParsedCapabilities): string | undefined {
    if (!destination.features.uffd || !destination.features['uffd-noncoop']) {
      return `${destination.host}'s kernel has no userfaultfd for other processes (uffd-noncoop), which post-copy needs`;
    }
    // Without CAP_SYS_RESOURCE CRIU cannot grow the pipes its lazy dump needs beyond this limit.
    if (source.pipeMaxSize < 4 << 20) {
      return `fs.pipe-max-size on ${source.host} is ${source.pipeMaxSize >> 10} KiB and post-copy needs 4 MiB (run \`sysctl fs.pipe-max-size=4194304\` there)`;
    }
    return undefined;
  }

  preCopyProblem(source: ParsedCapabilities, destination: ParsedCapabilities, requested: boolean): string | undefined {
    if (this.options.untrackedRounds) return requested ? undefined : 'pre-copy runs untracked (a test mode), only when asked for';
    const lacking = [source, destination].filter((c) => !c.features.mem_dirty_track).map((c) => c.host);
    if (lacking.length === 1) return `pre-copy needs soft-dirty memory tracking, which ${lacking[0]}'s kernel lacks`;
    if (lacking.length) return `pre-copy needs soft-dirty memory tracking, which the kernels of ${lacking.join(' and ')} lack`;
    return undefined;
  }

  receivePages(helper: HostHelper, imagesDir: string, socket: string, options: RoundOptions = {}): Promise<PageService> {
    const parent = options.parent && !this.options.untrackedRounds ? ['--parent', options.parent] : [];
    return this.service(helper, ['page-server', imagesDir, '--socket', socket, ...parent], 'page-server', 'listening');
  }

  preCopyOptions(): ChosenOption[] {
    if (this.options.untrackedRounds) {
      return [{ option: 'pre-dump: dump --leave-running (TEST MODE, untracked)', reason: 'without soft-dirty each round copies all memory and the freeze saves nothing; only tests run this' }];
    }
    return [
      { option: 'pre-dump --track-mem', reason: 'memory is copied in rounds while the process runs, each round only what it changed since the one before (soft-dirty bits)' },
      { option: 'dump --track-mem --prev-images-dir', reason: 'the freeze moves only what changed since the last round; the restore reads the rest from the rounds' },
    ];
  }

  async preDump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesSocket: string, options: RoundOptions = {}): Promise<DumpStats> {
    const args = ['--pages', pagesSocket, ...(this.options.untrackedRounds ? ['--full'] : []), ...this.dumpArgs(plan, options)];
    const host = helper.host.name;
    const stats = parseDumpStats(await this.runCriu(helper, ['pre-dump', String(pid), imagesDir, ...args], { action: 'pre-dump', host, pid }));
    // Read as 0 pages, a round without counts would look converged.
    if (!stats) throw new CheckpointError(`CRIU's pre-dump of process ${pid} on ${host} reported no page counts, so pre-copy cannot tell when to stop its rounds; the process keeps running on ${host}: migrate it with stop-and-copy or post-copy.`, 'other', [], host);
    return stats;
  }

  dumpLazily(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesSocket: string): Promise<PageService> {
    const args = plan.dump.map((o) => o.option).filter((o) => !HELPER_ADDS.includes(o));
    return this.service(helper, ['dump-lazy', String(pid), imagesDir, '--pages', pagesSocket, ...args], 'dump', 'ready', pid);
  }

  async fetchPagesLazily(helper: HostHelper, imagesDir: string, socket: string): Promise<LazyPageFetcher> {
    const service = await this.service(helper, ['lazy-pages', imagesDir, '--socket', socket], 'lazy-pages', 'listening');
    return { ...service, start: () => service.next('ready', 'go\n') };
  }

  /** A helper command that runs on: resolves once it printed `word` (`listening`: its socket
   * is up; `ready`: CRIU serves). */
  private async service(helper: HostHelper, args: string[], action: Context['action'], word: 'listening' | 'ready', pid?: number): Promise<HelperService> {
    const ctx: Context = { action, host: helper.host.name, pid };
    return startService(helper, args, word, (stderr) => this.failure(stderr, ctx));
  }

  async dump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesSocket: string | undefined, options?: DumpOptions): Promise<DumpStats | void> {
    const running = options?.leaveRunning ? ['--leave-running'] : [];
    const args = [...(pagesSocket ? ['--pages', pagesSocket] : []), ...running, ...this.dumpArgs(plan, options ?? {}), ...(options && !options.leaveRunning ? ['--display-stats'] : [])];
    const out = await this.runCriu(helper, ['dump', String(pid), imagesDir, ...args], { action: 'dump', host: helper.host.name, pid });
    return parseDumpStats(out);
  }

  leaveRunningOption(): ChosenOption {
    return { option: '--leave-running', reason: 'a checkpoint for the standby: the process runs on where it is once it is dumped' };
  }

  /** The plan's dump options, and for pre-copy the round before (the helper adds the page
   * server's connection: `--page-server --ps-socket`). */
  private dumpArgs(plan: CheckpointPlan, { parent }: RoundOptions): string[] {
    // Tracked: pages unchanged since the parent round stay there (soft-dirty bits say which).
    const tracked = parent && !this.options.untrackedRounds ? ['--track-mem', '--prev-images-dir', `../${parent}`] : [];
    return [...plan.dump.map((o) => o.option).filter((o) => !HELPER_ADDS.includes(o)), ...tracked];
  }

  async restore(helper: HostHelper, imagesDir: string, plan: CheckpointPlan, options: { lazy?: boolean; leaveStopped?: boolean } = {}): Promise<RestoredProcess> {
    // -d and -j are the helper's to add (restore-tty runs CRIU in the foreground).
    const helperAdds = [...HELPER_ADDS, '--restore-detached', ...(plan.terminalSession ? ['--shell-job'] : [])];
    const args = plan.restore.filter((o) => o.option.startsWith('--') && !helperAdds.includes(o.option)).flatMap((o) => optionArgv(o.option));
    if (options.lazy) args.push('--lazy-pages');
    if (options.leaveStopped) args.push('--leave-stopped');
    const files = (plan.inherit ?? []).flatMap((i) => [i.mode === 'read' ? '--read' : i.mode === 'socket' ? '--socket' : '--file', String(i.fd), i.path || '-']);
    // After the files: the helper opens those first (maybe through an opener that runs it again).
    files.push(...(plan.nodes ?? []).flatMap((n) => (n.kind === 'fifo' ? ['--mkfifo', n.owner, n.mode ?? '600', n.path] : ['--symlink', n.owner, n.linkTarget ?? '', n.path])));
    const command = plan.terminalSession ? ['restore-tty', imagesDir, plan.terminalSession, ...files, ...args] : ['restore', imagesDir, ...files, ...args];
    const out = await this.runCriu(helper, command, { action: 'restore', host: helper.host.name });
    const m = /^pid=(\d+)$/m.exec(out);
    if (!m) throw new CheckpointError(`CRIU restored on ${helper.host.name} but did not report the new PID.`, 'other', []);
    const taken = /^taken=(\d+)$/m.exec(out)?.[1];
    const inside = /^nspid=(\d+)$/m.exec(out)?.[1];
    return {
      pid: Number(m[1]),
      terminalSession: /^session=(.+)$/m.exec(out)?.[1],
      ...terminalOption(/^terminal=(.+)$/m.exec(out)?.[1]),
      ...(taken && inside ? { newPidNamespace: { takenPid: Number(taken), pidInside: Number(inside) } } : {}),
    };
  }

  async discard(helper: HostHelper, restored: RestoredProcess): Promise<void> {
    if (restored.terminalSession) await helper.run(['tmux-kill', restored.terminalSession]);
  }

  private async runCriu(helper: HostHelper, args: string[], ctx: Context): Promise<string> {
    try {
      return await helper.run(args);
    } catch (err) {
      if (err instanceof HelperError) throw this.failure(err.result.stderr, ctx);
      throw err;
    }
  }

  private failure(stderr: string, ctx: Context): CheckpointError {
    const lines = stderr.split('\n').filter(Boolean);
    const log = lines.filter((l) => l.startsWith('criu-log: ')).map((l) => l.slice(10));
    const own = lines.filter((l) => !l.startsWith('criu-log: '));
    const { kind, message } = explainCriuFailure([...log, ...own], ctx);
    return new CheckpointError(message, kind, log.length ? log : own, ctx.host);
  }
}

/** The report's line for the helper's `terminal=MODE` (its terminal_mode): how the process was
 * given the tmux pane's terminal, when that took more than CRIU's -j. */
export function terminalOption(mode: string | undefined): Pick<RestoredProcess, 'terminalOption'> {
  const [kind, arg] = (mode ?? '').split(' ');
  if (kind === 'ext')
    return { terminalOption: { option: `restore --inherit-fd fd[3]:${arg}`, reason: "the process leads its terminal's session, so the tmux pane's terminal takes that terminal's place whatever its number" } };
  if (kind === 'number')
    return { terminalOption: { option: `restore in a tmux pane on /dev/pts/${arg}`, reason: `the process holds its terminal more than once (it reopened it) and CRIU reopens all but one by number, so its pane got the number it had, ${arg}` } };
  return {};
}

/** The helper's `pages_written=` … lines (CRIU's --display-stats); undefined without them. */
export function parseDumpStats(text: string): DumpStats | undefined {
  const kv = parseKeyValues(text);
  if (kv.pages_written === undefined) return undefined;
  const num = (key: string) => Number(kv[key] ?? 0) || 0;
  return { pagesWritten: num('pages_written'), pagesScanned: num('pages_scanned'), pagesSkipped: num('pages_skipped'), pageSize: num('page_size') || 4096 };
}

/** The tmux session a terminal process is restored into: `procmig-<source pid>`. */
function terminalSession(name: string | undefined): string {
  return `procmig-${(name ?? 'process').replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** `--inherit-fd fd[4]:tmp/log` → two arguments (the value may hold spaces). */
function optionArgv(option: string): string[] {
  const space = option.indexOf(' ');
  return space < 0 ? [option] : [option.slice(0, space), option.slice(space + 1)];
}
