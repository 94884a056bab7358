// One migration of one process tree: what every strategy shares. It connects, runs the
// preflight, prepares the destination before the freeze (early event request), and finishes or
// rolls back. Nothing is lost: the source is killed only after the destination runs the
// process; any failure before that resumes the source and removes the destination's copy.
import { parseCapabilities, type ParsedCapabilities } from '../helper/capabilities';
import { CheckpointError, type CheckpointEngine, type CheckpointPlan, type FileSubstitute, type RestoredProcess } from '../checkpoint/engine';
import { HostHelper } from '../helper/hostHelper';
import { parseInspection, socketInodes, type ProcessInspection } from '../helper/inspection';
import { pipeCommands, type ByteCounter } from '../transport/bridge';
import type { MigrateOptions, MigrationRequest, MigrationResult, PhaseName } from './api';
import { CancelledError, PreflightError, sentenceFor, throwIfAborted } from './errors';
import {
  carriedTmpfsOptions,
  checkProcessAndHosts,
  establishedConnections,
  externalPipes,
  fileProblems,
  listeningPorts,
  outputOnlyFiles,
  parseTmpfsStat,
  requiredFiles,
  substituteMissingOutputs,
  substitutesProblem,
  tcpConnections,
  tmpfsCandidates,
  tmpfsProblems,
  tracedTask,
  treeRssKiB,
  type TmpfsFile,
} from './preflight';
import { cutUnixConnections, datagramPeersOf, externalDatagramPeers, nodesToMake, ownPtys, ptyProblems } from './preflightKinds';
import type { BatchLink } from './batchLinks';
import { HostGuard } from './guard';
import { openPageTunnel, type PageTunnel } from './pageTunnel';
import { chooseStrategy, type StrategyChoice } from './strategy';
import { Rollback } from './rollback';
import { Timeline } from './timeline';

export interface HostSource {
  get(name: string): Promise<import('../transport/host').Host>;
}

export interface SessionDeps {
  hosts: HostSource;
  checkpoint: CheckpointEngine;
  log: (line: string) => void;
}

export class MigrationSession {
  readonly timeline = new Timeline();
  readonly rollback = new Rollback();
  readonly transferred: ByteCounter = { bytes: 0 };
  readonly result: MigrationResult;
  source!: HostHelper;
  destination!: HostHelper;
  sourceCaps!: ParsedCapabilities;
  destinationCaps!: ParsedCapabilities;
  inspection!: ProcessInspection;
  plan!: CheckpointPlan;
  /** PIDs of the source tree, root first, as frozen by the dump. */
  sourceTree: number[] = [];
  destinationPid?: number;
  restored?: RestoredProcess;
  /** Post-copy: settles when the last page has moved. */
  pagesDone?: Promise<void>;
  /** Set by chooseStrategy (auto's pre-copy carries what runs should it not pay off). */
  strategyChoice?: StrategyChoice;
  /** Files on tmpfs (POSIX shared memory, …) that travel with the images. */
  carried: TmpfsFile[] = [];
  /** The image directories made and not yet removed (they hold process memory). */
  private readonly imageDirs = new Map<string, 'source' | 'destination'>();
  /** Undo on each host what the rollback here could not, should this machine go away. */
  private readonly guards: { source?: HostGuard; destination?: HostGuard } = {};

  constructor(
    readonly deps: SessionDeps,
    readonly request: MigrationRequest,
    readonly options: MigrateOptions = {},
    /** In a batch: connections to the other trees are kept (batchLinks.ts). */
    readonly link?: BatchLink,
  ) {
    this.result = {
      ok: false,
      from: request.from,
      to: request.to,
      sourcePid: request.pid,
      strategy: 'stop-and-copy',
      strategyReason: '',
      phases: this.timeline.phases,
      freezeMs: 0,
      totalMs: 0,
      bytes: 0,
      options: [],
      startedAt: this.timeline.startedAt.toISOString(),
    };
  }

  progress(phase: PhaseName, message: string) {
    this.deps.log(`[${this.request.from}→${this.request.to} ${this.request.pid}] ${phase}: ${message}`);
    this.options.onProgress?.({ phase, message });
  }

  checkCancelled() {
    throwIfAborted(this.options.signal);
  }

  /** Connects both hosts and runs the helper there. */
  async connect(): Promise<void> {
    const { from, to } = this.request;
    if (from === to) throw new PreflightError([`${from} is both the source and the destination; pick another destination host.`]);
    this.progress('connect', `connecting to ${from} and ${to}`);
    await this.timeline.phase('connect', async () => {
      const [s, d] = await Promise.all([this.deps.hosts.get(from), this.deps.hosts.get(to)]);
      this.source = HostHelper.for(s);
      this.destination = HostHelper.for(d);
    });
  }

  /** Everything that can be checked without touching the process. */
  async preflight(): Promise<void> {
    const { from, to, pid } = this.request;
    this.progress('preflight', `checking process ${pid} and both hosts`);
    await this.timeline.phase('preflight', async () => {
      const [sourceCaps, destinationCaps, inspected] = await Promise.all([
        this.source.run(['caps']).then((t) => parseCapabilities(from, t)),
        this.destination.run(['caps']).then((t) => parseCapabilities(to, t)),
        this.source.run(['inspect', String(pid)]).then((t) => parseInspection(pid, t)),
      ]);
      const inspection = await this.stopTracersIfAllowed(inspected);
      Object.assign(this, { sourceCaps, destinationCaps, inspection });
      const companions = await this.link?.share(socketInodes(inspection).keys());
      const checked = checkProcessAndHosts({ from, to, pid, source: sourceCaps, destination: destinationCaps, engine: this.deps.checkpoint, inspection, companions });
      if (this.link && checked.traits.keepTcp) this.link.crossing(tcpConnections(inspection, companions).inside.flatMap((c) => [c.localPort, c.remotePort]));
      if (checked.problems.length) throw new PreflightError(checked.problems);

      // Files on tmpfs are the process's own state: they travel with it rather than being required.
      const tmpfs = await this.checkTmpfsFiles(inspection);
      this.carried = tmpfs.files;
      const carried = new Set(tmpfs.files.map((f) => f.path));
      // The destination must have the same executables, libraries and open files (and the
      // receivers its datagram sockets send to).
      const datagrams = datagramPeersOf(inspection, from, to, companions);
      const files = [...requiredFiles(inspection).filter((f) => !carried.has(f.path)), ...externalDatagramPeers(inspection, companions).names.map((path) => ({ path, compareSize: false }))];
      const sizes = await this.source.run(['stat-files'], { stdin: files.map((f) => f.path).join('\n') + '\n' });
      const sizeOf = new Map(sizes.split('\n').map((l) => l.split('\t') as [string, string]));
      const query = files.map((f) => `${f.path}\t${f.compareSize ? sizeOf.get(f.path) ?? '-' : '-'}`).join('\n') + '\n';
      const checkedFiles = await this.destination.run(['check-files'], { stdin: query });
      // Files the process only writes to and that the destination lacks are recreated there, and
      // pipes to processes that stay behind are given a file there (CRIU's --inherit-fd).
      const outputs = outputOnlyFiles(inspection);
      for (const path of carried) outputs.delete(path);
      const missingOutputs = [...outputs.keys()].filter((p) => checkedFiles.split('\n').includes(`${p}\tmissing`));
      const hasPipes = externalPipes(inspection, to, '').length > 0;
      const places = missingOutputs.length || hasPipes ? await this.destination.run(['places'], { stdin: missingOutputs.map((p) => `${p}\n`).join('') }) : '';
      const { remaining: notOutputs, substitutes } = substituteMissingOutputs(checkedFiles, outputs, places, to);
      // FIFOs and symlinks the destination lacks are made there (names, no data).
      const { remaining, nodes } = nodesToMake(notOutputs, inspection, to);
      const problems = [...tmpfs.problems, ...fileProblems(remaining, to), ...datagrams.problems, ...(await this.ptyProblems(inspection))];
      const filesDir = /^files_dir=(.+)$/m.exec(places)?.[1] ?? '';
      const all: FileSubstitute[] = [...externalPipes(inspection, to, filesDir), ...cutUnixConnections(inspection, from, to, companions), ...substitutes];
      const traits = { ...checked.traits, substitutes: all.length ? all : undefined, nodes: nodes.length ? nodes : undefined, datagramPeers: datagrams.reason };
      const tooMany = substitutesProblem(all.length, destinationCaps, from);
      if (tooMany) problems.push(tooMany);
      if (problems.length) throw new PreflightError(problems);

      this.result.listeningPorts = listeningPorts(inspection);
      const closed = traits.closeTcp ? establishedConnections(inspection) : [];
      if (closed.length) this.result.closedConnections = closed;
      this.plan = this.deps.checkpoint.plan(traits, String(pid));
      this.result.options = [
        ...this.plan.dump.map((o) => ({ option: `dump ${o.option}`, reason: o.reason })),
        ...this.plan.restore.map((o) => ({ option: `restore ${o.option}`, reason: o.reason })),
        ...carriedTmpfsOptions(this.carried, from, to),
      ];
    });
  }

  /** The tree's files on tmpfs (the source's view), and why any of them cannot travel. */
  private async checkTmpfsFiles(inspection: ProcessInspection): Promise<{ files: TmpfsFile[]; problems: string[] }> {
    const { from, to } = this.request;
    const candidates = tmpfsCandidates(inspection);
    if (!candidates.length) return { files: [], problems: [] };
    const pids = inspection.tasks.map((t) => String(t.pid));
    const { files, sharers } = parseTmpfsStat(await this.source.run(['tmpfs-stat', ...pids], { stdin: lines(candidates) }), inspection);
    const check = files.length ? await this.destination.run(['tmpfs-check'], { stdin: lines(files.map((f) => f.path)) }) : '';
    return { files, problems: tmpfsProblems(files, sharers, check, from, to) };
  }

  /** Ptys the tree opened itself are recreated under their numbers: those must be free there. */
  private async ptyProblems(inspection: ProcessInspection): Promise<string[]> {
    if (!ownPtys(inspection).size) return [];
    const used = (await this.destination.run(['ptys'])).split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    return ptyProblems(inspection, used, this.request.to);
  }

  /** Tracers outside the tree that the caller agrees to stop (`onTraced`) are stopped through the
   * source's helper, and the tree is looked at again; any other is named by the preflight. */
  private async stopTracersIfAllowed(inspection: ProcessInspection): Promise<ProcessInspection> {
    const { from, pid } = this.request;
    const asked = new Set<number>();
    for (;;) {
      const traced = tracedTask(inspection);
      if (!traced || !this.options.onTraced || asked.has(traced.tracerPid) || inspection.tasks.some((t) => t.pid === traced.tracerPid)) return inspection;
      asked.add(traced.tracerPid);
      const tracerName = inspection.tracers[traced.tracerPid] || 'a debugger';
      if (!(await this.options.onTraced({ host: from, pid: traced.pid, name: traced.comm, tracerPid: traced.tracerPid, tracerName }))) return inspection;
      this.checkCancelled();
      this.progress('preflight', `stopping ${tracerName} (PID ${traced.tracerPid}), which traces process ${traced.pid}`);
      await this.source.run(['untrace', String(traced.pid), String(traced.tracerPid)]);
      inspection = parseInspection(pid, await this.source.run(['inspect', String(pid)]));
    }
  }

  /** A private image directory on `side`, removed on rollback and after success. */
  async imageDirectory(side: 'source' | 'destination'): Promise<string> {
    const helper = this[side];
    const out = await helper.run(['mkimages']);
    const dir = /^dir=(.+)$/m.exec(out)?.[1];
    if (!dir) throw new Error(`Could not create an image directory on ${helper.host.name}.`);
    this.imageDirs.set(dir, side);
    this.rollback.add(`remove ${dir} on ${helper.host.name}`, () => this.removeImageDirectory(dir, side));
    this.guard(side).images(dir);
    return dir;
  }

  private guard(side: 'source' | 'destination'): HostGuard {
    return (this.guards[side] ??= HostGuard.start(this[side], this.deps.log));
  }

  private async releaseGuards(): Promise<void> {
    await Promise.all([this.guards.source?.release(), this.guards.destination?.release()]);
  }

  /** Picks the strategy now that the process and both hosts are known. */
  chooseStrategy(): StrategyChoice {
    const requested = this.request.strategy ?? 'auto';
    const choice = chooseStrategy({
      requested,
      rssKiB: treeRssKiB(this.inspection),
      source: this.sourceCaps,
      destination: this.destinationCaps,
      postCopyProblem: this.deps.checkpoint.postCopyProblem(this.sourceCaps, this.destinationCaps),
      preCopyProblem: this.deps.checkpoint.preCopyProblem(this.sourceCaps, this.destinationCaps, requested === 'pre-copy'),
    });
    this.strategyChoice = choice;
    this.result.strategy = choice.strategy;
    this.result.strategyReason = choice.reason;
    this.progress('preflight', `strategy ${choice.strategy}: ${choice.reason}`);
    return choice;
  }

  /** Marks the freeze and registers the resume of the source tree. */
  async freeze(): Promise<void> {
    await this.options.beforeFreeze?.();
    // Before the first tree of a batch is restored (all have passed their preflight by now).
    await this.link?.lock(this.destination);
    this.checkCancelled();
    this.sourceTree = this.inspection.tasks.map((t) => t.pid);
    this.guard('source').frozen(this.request.pid, this.sourceTree);
    const closed = this.result.closedConnections ?? [];
    if (closed.length) {
      this.progress('freeze', `closing ${closed.length} established TCP connection${closed.length > 1 ? 's' : ''}, which cannot move: ${closed.join(', ')}`);
    }
    this.rollback.add(`resume the process on ${this.request.from}`, () => this.resumeSource());
    this.timeline.freeze();
  }

  async resumeSource(): Promise<void> {
    await this.signalSourceTree('CONT');
  }

  /** Signals the source tree as the host sees it now and as it was frozen: the dump may have
   * seen a different tree than the inspection (children come and go). */
  private async signalSourceTree(signal: 'CONT' | 'KILL'): Promise<void> {
    await this.source.run(['signal-tree', signal, String(this.request.pid), ...this.sourceTree.map(String)]);
  }

  /** The restored process must run (not exit, not stay stopped) on the destination. */
  async verify(restored: RestoredProcess): Promise<void> {
    const { pid } = restored;
    this.destinationPid = pid;
    this.restored = restored;
    if (restored.newPidNamespace) {
      const { takenPid, pidInside } = restored.newPidNamespace;
      this.result.options.push({
        option: 'restore in a new PID namespace (unshare --pid)',
        reason: `PID ${takenPid} is in use on ${this.request.to}; in its own namespace the process keeps PID ${pidInside}, and ${this.request.to} sees it as PID ${pid}`,
      });
    }
    if (restored.terminalOption) this.result.options.push(restored.terminalOption);
    const destination = this.destination;
    this.guard('destination').restored(pid, restored.terminalSession);
    this.rollback.add(`stop the half-migrated copy on ${this.request.to}`, async () => {
      await destination.run(['signal-tree', 'KILL', String(pid)]);
      await this.deps.checkpoint.discard?.(destination, restored);
    });
    this.progress('verify', `checking that process ${pid} runs on ${this.request.to}`);
    await this.timeline.phase('verify', async () => {
      const state = (await destination.run(['verify', String(pid)])).trim();
      if (state !== 'running') {
        throw new Error(`The process was restored on ${this.request.to} but is ${state} there right after; it keeps running on ${this.request.from}.`);
      }
    });
    this.thaw();
  }

  private thaw(): void {
    this.timeline.thaw();
    this.options.afterThaw?.();
  }

  /** The point of no return: the destination runs the process, so the source copy goes. */
  async commit(): Promise<void> {
    this.checkCancelled();
    if (this.link && !(await this.link.restored())) {
      throw new Error(`A process connected to this one failed to move to ${this.request.to}, so this one stays on ${this.request.from} too.`);
    }
    // The destination's guard first: once the source is gone, nothing may end the new copy.
    if (this.guards.destination && !(await this.guards.destination.release())) {
      throw new Error(`The connection to ${this.request.to} was lost just before the end of the migration; the process keeps running on ${this.request.from}.`);
    }
    this.rollback.clear();
    this.progress('cleanup', `stopping the frozen original on ${this.request.from}`);
    await this.timeline.phase('cleanup', async () => {
      await this.signalSourceTree('KILL');
      await this.removeCarriedFromSource();
    });
    await this.guards.source?.release();
    this.result.ok = true;
    this.result.destinationPid = this.destinationPid;
    if (this.restored?.terminalSession) {
      const session = this.restored.terminalSession;
      this.result.terminal = { host: this.request.to, session, attach: ['tmux', 'attach', '-t', session] };
    }
  }

  /** A unix socket on `clientSide` (in its image directory) reaching the page socket in the
   * other side's, for the memory pages: direct host to host when it can; the report says which
   * way they went and why. */
  async pageTunnel(clientSide: 'source' | 'destination', dirs: { source: string; destination: string }): Promise<PageTunnel> {
    const serverSide = clientSide === 'source' ? 'destination' : 'source';
    const [client, server] = [this[clientSide], this[serverSide]];
    const tunnel = await openPageTunnel({ helper: client, dir: dirs[clientSide] }, { helper: server, dir: dirs[serverSide] }, this.transferred);
    this.rollback.add('close the page tunnel', () => tunnel.abort());
    const { from, to } = this.request;
    const remote = this.source.host.isLocal ? to : from;
    this.result.transfer = {
      direct: `memory direct ${from} → ${to} over OpenSSH`,
      local: `memory over this machine's SSH connection to ${remote}`,
      relayed: `memory relayed through this machine, as ${client.host.name} cannot reach ${server.host.name} directly: ${tunnel.relayedBecause}`,
    }[tunnel.route];
    this.progress('connect', this.result.transfer);
    return tunnel;
  }

  /** Image directories on both hosts, and the page tunnel from the source's to the
   * destination's page socket (pageSocket): the source's CRIU connects, whichever side serves
   * the pages. All open before the freeze, so none of it costs the frozen process. */
  async prepareImageRoute(): Promise<{ sourceDir: string; destinationDir: string; tunnel: PageTunnel }> {
    const [sourceDir, destinationDir] = await Promise.all([this.imageDirectory('source'), this.imageDirectory('destination')]);
    const tunnel = await this.pageTunnel('source', { source: sourceDir, destination: destinationDir });
    return { sourceDir, destinationDir, tunnel };
  }

  /** After the dump: the non-memory images travel while the last pages may still drain from
   * the tunnel (buffered; for seconds when a batch shares the CPUs). Resolves once both have
   * arrived, with the tunnel's winding down (it counts its bytes), to await before the commit. */
  async sendRemainingImages(pagesDone: Promise<void>, tunnel: PageTunnel, sourceDir: string, destinationDir: string): Promise<Promise<void>> {
    let closing: Promise<void> = Promise.resolve();
    const received = pagesDone.then(() => {
      closing = tunnel.close();
      closing.catch(() => undefined);
    });
    const [pages, images] = await Promise.allSettled([received, this.copyImages(sourceDir, destinationDir)]);
    if (pages.status === 'rejected') throw pages.reason;
    if (images.status === 'rejected') throw images.reason;
    return closing;
  }

  /** Streams the non-memory images from the source's directory into the destination's, and the
   * tree's tmpfs files into place beside them. */
  async copyImages(sourceDir: string, destinationDir: string): Promise<void> {
    const { from, to } = this.request;
    const [images, tmpfs] = await Promise.allSettled([
      pipeCommands(this.source.spawn(['tar-out', sourceDir]), this.destination.spawn(['tar-in', destinationDir]), this.transferred),
      this.carryTmpfsFiles(destinationDir),
    ]);
    if (images.status === 'rejected') throw images.reason;
    const codes = images.value;
    if (codes.producer !== 0 || codes.consumer !== 0) {
      throw new Error(`Copying the checkpoint images from ${from} to ${to} failed (tar exit ${codes.producer}/${codes.consumer}); check free disk space on ${to}.`);
    }
    if (tmpfs.status === 'rejected') throw tmpfs.reason;
  }

  /** The tree's tmpfs files, from the frozen source to the same paths on the destination, where
   * CRIU expects them. What the destination placed is listed in `dir`, for the rollback and for
   * its guard should this machine go away before the commit. */
  private async carryTmpfsFiles(dir: string): Promise<void> {
    if (!this.carried.length) return;
    const { from, to } = this.request;
    const paths = this.carried.map((f) => f.path);
    const destination = this.destination;
    // Not "remove …": failures so named are read as image directories left behind (fail()).
    this.rollback.add(`take back ${paths.join(', ')} from ${to}`, () => destination.run(['tmpfs-rm', dir]));
    this.guard('destination').tmpfsFiles(dir);
    const producer = this.source.spawn(['tmpfs-out', ...paths]);
    const consumer = destination.spawn(['tmpfs-in', dir, ...paths]);
    let errors = '';
    for (const stream of [producer.stderr, consumer.stderr]) stream.on('data', (d: Buffer) => (errors += d.toString()));
    const codes = await pipeCommands(producer, consumer, this.transferred);
    if (codes.producer !== 0 || codes.consumer !== 0) {
      const why = errors.split('\n').filter(Boolean).pop()?.replace(/\.$/, '') || `tar exit ${codes.producer}/${codes.consumer}`;
      throw new Error(`Copying ${paths.join(', ')} (per-host state of the process) from ${from} to ${to} failed: ${why}; the process keeps running on ${from}.`);
    }
  }

  /** After the commit the source's copies of the carried tmpfs files go: the process that used
   * them is gone, and its memory must not stay behind. A failure only leaves them there. */
  private async removeCarriedFromSource(): Promise<void> {
    if (!this.carried.length) return;
    await this.source.run(['tmpfs-rm', '--', ...this.carried.map((f) => f.path)]).catch((e) => this.deps.log(`could not remove the carried tmpfs files on ${this.request.from}: ${e}`));
  }

  /** Removes image directories after success (they hold process memory). */
  async removeImages(): Promise<void> {
    await Promise.all([...this.imageDirs].map(([dir, side]) => this.removeImageDirectory(dir, side).catch((e) => this.deps.log(`could not remove ${dir}: ${e}`))));
  }

  private async removeImageDirectory(dir: string, side: 'source' | 'destination'): Promise<void> {
    await this[side].run(['rmimages', dir]);
    this.imageDirs.delete(dir);
  }

  /** Rolls back after `err` and records the outcome. */
  async fail(err: unknown): Promise<void> {
    const { from, to } = this.request;
    this.link?.leave(this.timeline.frozen);
    this.result.error = err instanceof CancelledError ? `Cancelled; the process keeps running on ${from}.` : sentenceFor(err);
    if (err instanceof CheckpointError && err.log.length) {
      this.result.logs = { [err.host === to ? 'destination' : 'source']: err.log.join('\n') };
    }
    this.progress('cleanup', `rolling back: ${this.result.error}`);
    const wasFrozen = this.timeline.frozen;
    const failures = await this.rollback.run();
    for (const f of failures) this.deps.log(`rollback: ${f}`);
    await this.releaseGuards();
    // Images hold process memory: if they could not be deleted, say where they are.
    const kept = failures.filter((f) => f.startsWith('remove ')).map((f) => f.slice('remove '.length).split(':')[0]);
    if (kept.length) this.result.error += ` Checkpoint images could not be deleted (${kept.join(', ')}); delete them by hand, or the next migration there removes them after 6 hours.`;
    this.thaw();
    // Before the freeze nothing was touched; after it, confirm the source runs again.
    if (!wasFrozen) {
      this.result.rolledBack = true;
      return;
    }
    const state = (await this.source.run(['state', String(this.request.pid)]).catch(() => 'unknown')).trim();
    this.result.rolledBack = state === 'running';
    if (!this.result.rolledBack) {
      this.result.error += ` The process could not be confirmed running on ${from} (${state}); check it there.`;
    }
  }

  finish(): MigrationResult {
    this.result.freezeMs = this.timeline.freezeMs;
    this.result.totalMs = this.timeline.totalMs;
    this.result.bytes = this.transferred.bytes;
    return this.result;
  }
}

function lines(items: readonly string[]): string {
  return items.map((i) => `${i}\n`).join('');
}
