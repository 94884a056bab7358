// The way a migration's images travel: a private image directory on each host, the page tunnel
// between them, the non-memory images and the tree's tmpfs files streamed after the dump.
// Whatever it makes is registered for rollback, and with the hosts' guards should this machine
// go away; the directories it made and has not removed are known by path and host.
import type { HostHelper } from '../helper/hostHelper';
import { startService } from '../helper/service';
import { pipeCommands, type ByteCounter } from '../transport/bridge';
import type { MigrationResult } from './api';
import { clauseFor } from './errors';
import type { HostGuard } from './guard';
import { openPageTunnel, type PageTunnel } from './pageTunnel';
import type { TmpfsFile } from './preflight';
import type { Rollback } from './rollback';
import { makeImageDirectory, makeImageDirectoryPair, removeImageDirectory, type Side } from './imageDirectories';

export type { Side };

export interface ImageCopy {
  /** Sends the images, once the dump wrote them; resolves when they are in. */
  send(): Promise<void>;
}

export interface PreparedRoute {
  sourceDir: string;
  destinationDir: string;
  tunnel: PageTunnel;
}

export interface ImageRouteContext {
  from: string;
  to: string;
  source: HostHelper;
  destination: HostHelper;
  rollback: Rollback;
  guard(side: Side): HostGuard;
  /** Counts the bytes that cross between the hosts. */
  transferred: ByteCounter;
  /** The tree's tmpfs files that travel with the images. */
  carried: readonly TmpfsFile[];
  /** Where the report says which way the memory went. */
  report: Pick<MigrationResult, 'transfer'>;
  progress(message: string): void;
  log(line: string): void;
  /** A route readied before this migration, if there is one to take. */
  readied?(): Promise<ReadiedRoute | undefined>;
}

/** A route opened before its migration (routePool.ts), for the migration to take: its tunnel
 * counts its bytes into `counter.target`. */
export interface ReadiedRoute extends PreparedRoute {
  source: HostHelper;
  destination: HostHelper;
  counter: { target: ByteCounter };
}

export class ImageRoute {
  /** The image directories made and not yet removed (they hold process memory). */
  private readonly made = new Set<{ dir: string; side: Side }>();
  private early?: Promise<PreparedRoute>;
  private preparing?: Promise<void>;

  constructor(private readonly context: ImageRouteContext) {}

  /** A private image directory on `side`, removed on rollback and after success. */
  async directory(side: Side): Promise<string> {
    return this.track(side, await makeImageDirectory(this.context[side]));
  }

  /** `dir` on `side` is this migration's: the rollback, the host's guard and removeAll() remove it. */
  private track(side: Side, dir: string): string {
    const made = { dir, side };
    this.made.add(made);
    this.context.rollback.add(`remove ${dir} on ${this.context[side].host.name}`, () => this.remove(made));
    this.context.guard(side).images(dir);
    return dir;
  }

  /** A unix socket in the source's image directory reaching the page socket in the
   * destination's, for the memory pages: direct host to host when it can. */
  private async tunnel(dirs: { source: string; destination: string }): Promise<PageTunnel> {
    const { source, destination } = this.context;
    return this.trackTunnel(await openPageTunnel({ helper: source, dir: dirs.source }, { helper: destination, dir: dirs.destination }, this.context.transferred));
  }

  private trackTunnel(tunnel: PageTunnel): PageTunnel {
    this.context.rollback.add('close the page tunnel', () => tunnel.abort());
    return tunnel;
  }

  /** Image directories on both hosts, and the page tunnel from the source's to the
   * destination's page socket (pageSocket): the source's CRIU connects, whichever side serves
   * the pages. All open before the freeze, so none of it costs the frozen process; the first
   * call gets what prepareEarly() began. The report says which way the memory goes once a
   * strategy takes the route, not when an early one opens (a failed preflight moves nothing). */
  async prepare(): Promise<PreparedRoute> {
    const early = this.early;
    this.early = undefined;
    const route = await (early ?? this.open());
    const { from, to, source, destination, report } = this.context;
    const remote = source.host.isLocal ? to : from;
    report.transfer = {
      direct: `memory direct ${from} → ${to} over OpenSSH`,
      local: `memory over this machine's SSH connection to ${remote}`,
      relayed: `memory relayed through this machine, as ${source.host.name} cannot reach ${destination.host.name} directly: ${route.tunnel.relayedBecause}`,
    }[route.tunnel.route];
    this.context.progress(report.transfer);
    return route;
  }

  /** Early event request: starts prepare()'s work now, while the preflight runs, since every
   * migration strategy needs it. A preflight that fails wastes it; the rollback removes it
   * once settled() (it registers what it makes as it goes). */
  prepareEarly(): void {
    this.early ??= this.open();
    this.preparing = this.early.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Settles once what prepareEarly() began is made, or failed. */
  settled(): Promise<void> {
    return this.preparing ?? Promise.resolve();
  }

  private async open(): Promise<PreparedRoute> {
    const readied = await this.context.readied?.();
    if (readied) {
      // From here its directories and tunnel are this migration's, and so are its bytes.
      readied.counter.target = this.context.transferred;
      this.context.progress('taking the image directories and page tunnel readied while the destination was picked');
      const sourceDir = this.track('source', readied.sourceDir);
      const destinationDir = this.track('destination', readied.destinationDir);
      return { sourceDir, destinationDir, tunnel: this.trackTunnel(readied.tunnel) };
    }
    // One made while the other failed is registered before this settles, and the rollback
    // (which waits for settled()) removes it.
    const dirs = await makeImageDirectoryPair(this.context, (side, dir) => this.track(side, dir));
    const tunnel = await this.tunnel(dirs);
    return { sourceDir: dirs.source, destinationDir: dirs.destination, tunnel };
  }

  /** After the dump: the non-memory images travel (through `copy`, opened before the freeze)
   * while the last pages may still drain from the tunnel (buffered; for seconds when a batch
   * shares the CPUs). Resolves once both have arrived, with the tunnel's winding down (it
   * counts its bytes) to await before the commit: wrapped, as an awaited promise would be
   * awaited too, and the frozen process would wait for it. */
  async sendRemainingImages(pagesDone: Promise<void>, tunnel: PageTunnel, copy: ImageCopy): Promise<{ closing: Promise<void> }> {
    const [pages, images] = await Promise.allSettled([pagesDone, copy.send()]);
    if (pages.status === 'rejected') throw pages.reason;
    if (images.status === 'rejected') throw images.reason;
    // Only now: the tunnel's end removes its socket from the source's image directory, which
    // the copy reads (tar exits 1 on a directory that changed as it read it).
    const closing = tunnel.close();
    closing.catch(() => undefined);
    return { closing };
  }

  /** How a standby's checkpoint will travel once dumped into `sourceDir`, set up before the
   * freeze: host to host when both are remote, as a tar stream through the page tunnel (one-time
   * sshd and keys, the host key checked, unix sockets in the 0700 image directories), else or
   * should that not open, relayed through this machine as copyImages does; the report says which
   * and why. Resolves with the send, to call after the dump. */
  async checkpointRoute(sourceDir: string, destinationDir: string): Promise<() => Promise<void>> {
    const { from, to, source, destination, report } = this.context;
    // The tree's tmpfs files are in the checkpoint (tmpfs-save), never placed on the standby.
    const relay = () => this.copyImages(sourceDir, destinationDir, { carryTmpfs: false });
    if (source.host.isLocal || destination.host.isLocal) {
      report.transfer = `checkpoint over this machine's SSH connection to ${source.host.isLocal ? to : from}`;
      return relay;
    }
    let tunnel: PageTunnel | undefined;
    let why: string | undefined;
    try {
      tunnel = await openPageTunnel({ helper: source, dir: sourceDir }, { helper: destination, dir: destinationDir }, this.context.transferred);
      if (tunnel.route !== 'direct') {
        why = tunnel.relayedBecause;
        await tunnel.abort();
        tunnel = undefined;
      }
    } catch (err) {
      why = clauseFor(err);
    }
    if (!tunnel) {
      report.transfer = `checkpoint relayed through this machine, as ${from} cannot reach ${to} directly: ${why}`;
      this.context.progress(report.transfer);
      return relay;
    }
    const direct = tunnel;
    this.context.rollback.add('close the checkpoint tunnel', () => direct.abort());
    // Listening before the dump: the send connects as soon as the images are written.
    const receiver = await startService(destination, ['images-in', destinationDir], 'listening', (stderr, error) => {
      const last = stderr.trim().split('\n').pop() || error?.message || 'images-in ended early';
      return new Error(`Receiving the checkpoint on ${to} failed: ${last}.`);
    });
    this.context.rollback.add('stop receiving the checkpoint', () => receiver.stop());
    report.transfer = `checkpoint direct ${from} → ${to} over OpenSSH`;
    this.context.progress(report.transfer);
    return async () => {
      const [sent, received] = await Promise.allSettled([source.run(['images-out', sourceDir, direct.socket]), receiver.done]);
      if (received.status === 'rejected') throw received.reason;
      if (sent.status === 'rejected') throw new Error(`Sending the checkpoint from ${from} to ${to} failed: ${sent.reason instanceof Error ? sent.reason.message : String(sent.reason)}`);
      await direct.close();
      // The kept checkpoint holds images only: the one-time sshd's keys go now.
      await destination.run(['direct-rm', destinationDir]);
    };
  }

  /** The tree's tmpfs files, which travel with its images to the same paths. */
  get carriedPaths(): string[] {
    return this.context.carried.map((f) => f.path);
  }

  /** The copy of the non-memory images from the source's directory into the destination's,
   * opened now and sent by `send()`: opened before the freeze, its two SSH channels and shells
   * cost the frozen process nothing. A rollback closes it unsent. */
  openCopy(sourceDir: string, destinationDir: string, { carryTmpfs = true } = {}): ImageCopy {
    const { from, to, source, destination, transferred } = this.context;
    const producer = source.spawn(['tar-out', '--on-go', sourceDir]);
    const codes = pipeCommands(producer, destination.spawn(['tar-in', destinationDir]), transferred);
    codes.catch(() => undefined);
    this.context.rollback.add(`close the image copy to ${to}`, async () => {
      producer.stdin.end(); // without `go`, nothing is sent
      await codes;
    });
    return {
      send: async () => {
        producer.stdin.end('go\n');
        const [images, tmpfs] = await Promise.allSettled([codes, carryTmpfs ? this.carryTmpfsFiles(destinationDir) : undefined]);
        if (images.status === 'rejected') throw images.reason;
        if (images.value.producer !== 0 || images.value.consumer !== 0) {
          throw new Error(`Copying the checkpoint images from ${from} to ${to} failed (tar exit ${images.value.producer}/${images.value.consumer}); check free disk space on ${to}.`);
        }
        if (tmpfs.status === 'rejected') throw tmpfs.reason;
      },
    };
  }

  /** Copies the non-memory images now (and the tree's tmpfs files into place, unless not). */
  private copyImages(sourceDir: string, destinationDir: string, options?: { carryTmpfs?: boolean }): Promise<void> {
    return this.openCopy(sourceDir, destinationDir, options).send();
  }

  /** The tree's tmpfs files, from the frozen source to the same paths on the destination, where
   * CRIU expects them. What the destination placed is listed in `dir`, for the rollback and for
   * its guard should this machine go away before the commit. */
  private async carryTmpfsFiles(dir: string): Promise<void> {
    const { from, to, source, destination, carried } = this.context;
    if (!carried.length) return;
    const paths = carried.map((f) => f.path);
    this.context.rollback.add(`take back ${paths.join(', ')} from ${to}`, () => destination.run(['tmpfs-rm', dir]));
    this.context.guard('destination').tmpfsFiles(dir);
    const producer = source.spawn(['tmpfs-out', ...paths]);
    const consumer = destination.spawn(['tmpfs-in', dir, ...paths]);
    let errors = '';
    for (const stream of [producer.stderr, consumer.stderr]) stream.on('data', (d: Buffer) => (errors += d.toString()));
    const codes = await pipeCommands(producer, consumer, this.context.transferred);
    if (codes.producer !== 0 || codes.consumer !== 0) {
      const why = errors.split('\n').filter(Boolean).pop()?.replace(/\.$/, '') || `tar exit ${codes.producer}/${codes.consumer}`;
      throw new Error(`Copying ${paths.join(', ')} (per-host state of the process) from ${from} to ${to} failed: ${why}; the process keeps running on ${from}.`);
    }
  }

  /** After the commit the source's copies of the carried tmpfs files go: the process that used
   * them is gone, and its memory must not stay behind. A failure only leaves them there. */
  async removeCarriedFromSource(): Promise<void> {
    const { from, source, carried } = this.context;
    if (!carried.length) return;
    await source.run(['tmpfs-rm', '--', ...carried.map((f) => f.path)]).catch((e) => this.context.log(`could not remove the carried tmpfs files on ${from}: ${e}`));
  }

  /** Removes the image directories after success (they hold process memory). */
  async removeAll(): Promise<void> {
    await Promise.all([...this.made].map((made) => this.remove(made).catch((e) => this.context.log(`could not remove ${made.dir}: ${e}`))));
  }

  /** Removes the images (process memory) once the process was restored from them; each
   * directory stays, with its list of placed tmpfs files, for a rollback or the guard, until
   * removeAll() after the commit. */
  async removeMemory(): Promise<void> {
    await Promise.all([...this.made].map(({ dir, side }) => this.context[side].run(['rmimages', '--memory', dir]).catch((e) => this.context.log(`could not remove the images in ${dir}: ${e}`))));
  }

  /** `dir` is kept (a standby's checkpoint): neither the rollback nor removeAll() touches it. */
  forget(dir: string): void {
    for (const made of this.made) if (made.dir === dir) this.made.delete(made);
  }

  /** The image directories still there (`DIR on HOST`): those the rollback could not remove. */
  leftBehind(): string[] {
    return [...this.made].map(({ dir, side }) => `${dir} on ${this.context[side].host.name}`);
  }

  private async remove(made: { dir: string; side: Side }): Promise<void> {
    await removeImageDirectory(this.context[made.side], made.dir);
    this.made.delete(made);
  }
}
