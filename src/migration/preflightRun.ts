// The preflight of one migration, run against both hosts: everything that can be checked without
// touching the process (tracers the caller agrees to stop aside). It ends with the checkpoint
// plan, or a PreflightError naming every problem found.
import { parseCapabilities, type ParsedCapabilities } from '../helper/capabilities';
import type { CheckpointEngine, CheckpointPlan, FileSubstitute } from '../checkpoint/engine';
import type { HostHelper } from '../helper/hostHelper';
import { parseInspection, socketInodes, type InetSocket, type ProcessInspection } from '../helper/inspection';
import type { ChosenOption, MigrateOptions, MigrationRequest, PhaseName } from './api';
import type { BatchLink } from './batchLinks';
import { PreflightError } from './errors';
import {
  carriedTmpfsOptions,
  checkProcessAndHosts,
  establishedConnections,
  externalPipes,
  fileProblems,
  outputOnlyFiles,
  parseTmpfsStat,
  requiredFiles,
  substituteMissingOutputs,
  substitutesProblem,
  tcpConnections,
  tmpfsCandidates,
  tmpfsProblems,
  tracedTask,
  type TmpfsFile,
} from './preflight';
import { listeningPorts, listeningSockets, portProblems } from './preflightPorts';
import { parsePortUsers } from '../helper/portUsers';
import { sleep } from '../common/sleep';
import { cutUnixConnections, datagramPeersOf, externalDatagramPeers, hasZombieChild, nodesToMake, ownPtys, ptyProblems } from './preflightKinds';

/** A zombie child is looked at again this often, this many times, before the preflight refuses. */
const ZOMBIE_LOOKS = 4;
const ZOMBIE_LOOK_MS = 50;

/** What a passed preflight found: what the strategy choice, the dump and the report work from. */
export interface Preflight {
  sourceCaps: ParsedCapabilities;
  destinationCaps: ParsedCapabilities;
  inspection: ProcessInspection;
  plan: CheckpointPlan;
  /** Files on tmpfs (POSIX shared memory, …) that travel with the images. */
  carried: TmpfsFile[];
  listeningPorts: number[];
  /** Established TCP connections the move closes (they cannot follow), if any. */
  closedConnections?: string[];
  /** The engine's options and why, for the report. */
  options: ChosenOption[];
}

export interface PreflightContext {
  checkpoint: CheckpointEngine;
  /** `onTraced` (may a tracer be stopped?) and the cancel signal. */
  options: MigrateOptions;
  /** In a batch: connections to the other trees are kept (batchLinks.ts). */
  link?: BatchLink;
  progress(phase: PhaseName, message: string): void;
  checkCancelled(): void;
  /** For a standby's checkpoint: nothing is restored now. */
  standby?: boolean;
}

export type PreflightRunner = (source: HostHelper, destination: HostHelper, request: MigrationRequest, context: PreflightContext) => Promise<Preflight>;

export const runPreflight: PreflightRunner = (source, destination, request, context) => new PreflightRun(source, destination, request, context).run();

class PreflightRun {
  constructor(
    private readonly source: HostHelper,
    private readonly destination: HostHelper,
    private readonly request: MigrationRequest,
    private readonly context: PreflightContext,
  ) {}

  async run(): Promise<Preflight> {
    const { from, to, pid } = this.request;
    const { checkpoint, link } = this.context;
    const [sourceCaps, destinationCaps, inspected] = await Promise.all([
      this.source.run(['caps']).then((t) => parseCapabilities(from, t)),
      this.destination.run(['caps']).then((t) => parseCapabilities(to, t)),
      this.inspect(),
    ]);
    const inspection = await this.stopTracersIfAllowed(inspected);
    const companions = await link?.share(socketInodes(inspection).keys());
    const checked = checkProcessAndHosts({ from, to, pid, source: sourceCaps, destination: destinationCaps, engine: checkpoint, inspection, companions });
    if (link && checked.traits.keepTcp) link.crossing(tcpConnections(inspection, companions).inside.flatMap((c) => [c.localPort, c.remotePort]));
    if (checked.problems.length) throw new PreflightError(checked.problems);

    // Files on tmpfs are the process's own state: they travel with it rather than being required.
    const tmpfs = await this.checkTmpfsFiles(inspection);
    const carried = new Set(tmpfs.files.map((f) => f.path));
    // The destination must have the same executables, libraries and open files (and the
    // receivers its datagram sockets send to).
    const datagrams = datagramPeersOf(inspection, from, to, companions);
    const files = [...requiredFiles(inspection).filter((f) => !carried.has(f.path)), ...externalDatagramPeers(inspection, companions).names.map((path) => ({ path, compareSize: false }))];
    // The destination's ports are asked meanwhile: it is idle while the source stats.
    const listening = listeningSockets(inspection);
    const ports = this.portProblems(listening);
    ports.catch(() => undefined); // awaited below
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
    const problems = [...tmpfs.problems, ...fileProblems(remaining, to), ...datagrams.problems, ...(await this.ptyProblems(inspection)), ...(await ports)];
    const filesDir = /^files_dir=(.+)$/m.exec(places)?.[1] ?? '';
    const all: FileSubstitute[] = [...externalPipes(inspection, to, filesDir), ...cutUnixConnections(inspection, from, to, companions), ...substitutes];
    const traits = { ...checked.traits, substitutes: all.length ? all : undefined, nodes: nodes.length ? nodes : undefined, datagramPeers: datagrams.reason };
    const tooMany = substitutesProblem(all.length, destinationCaps, from);
    if (tooMany) problems.push(tooMany);
    if (problems.length) throw new PreflightError(problems);

    const closed = traits.closeTcp ? establishedConnections(inspection) : [];
    const plan = checkpoint.plan(traits, String(pid));
    return {
      sourceCaps,
      destinationCaps,
      inspection,
      plan,
      carried: tmpfs.files,
      listeningPorts: listeningPorts(listening),
      closedConnections: closed.length ? closed : undefined,
      options: [
        ...plan.dump.map((o) => ({ option: `dump ${o.option}`, reason: o.reason })),
        ...plan.restore.map((o) => ({ option: `restore ${o.option}`, reason: o.reason })),
        ...carriedTmpfsOptions(tmpfs.files, from, to),
      ],
    };
  }

  /** The tree, inspected again while a child is a zombie: a shell loop's command that just
   * exited is one until the shell reaps it a moment later, and refusing such a tree would refuse
   * most shell scripts now and then. */
  private async inspect(): Promise<ProcessInspection> {
    const { pid } = this.request;
    for (let look = 1; ; look++) {
      const inspection = parseInspection(pid, await this.source.run(['inspect', String(pid)]));
      if (look >= ZOMBIE_LOOKS || !hasZombieChild(inspection)) return inspection;
      await sleep(ZOMBIE_LOOK_MS);
    }
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

  /** The tree's listeners must find their ports free on the destination; a standby's checkpoint
   * is restored only later, so its ports are not asked now. */
  private async portProblems(listening: readonly InetSocket[]): Promise<string[]> {
    if (!listening.length || this.context.standby) return [];
    const ports = listeningPorts(listening).map(String);
    return portProblems(listening, parsePortUsers(await this.destination.run(['port-users', ...ports])), this.request.to);
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
    const { onTraced } = this.context.options;
    const asked = new Set<number>();
    for (;;) {
      const traced = tracedTask(inspection);
      if (!traced || !onTraced || asked.has(traced.tracerPid) || inspection.tasks.some((t) => t.pid === traced.tracerPid)) return inspection;
      asked.add(traced.tracerPid);
      const tracerName = inspection.tracers[traced.tracerPid] || 'a debugger';
      if (!(await onTraced({ host: from, pid: traced.pid, name: traced.comm, tracerPid: traced.tracerPid, tracerName }))) return inspection;
      this.context.checkCancelled();
      this.context.progress('preflight', `stopping ${tracerName} (PID ${traced.tracerPid}), which traces process ${traced.pid}`);
      await this.source.run(['untrace', String(traced.pid), String(traced.tracerPid)]);
      inspection = parseInspection(pid, await this.source.run(['inspect', String(pid)]));
    }
  }
}

function lines(items: readonly string[]): string {
  return items.map((i) => `${i}\n`).join('');
}
