// The client side of remote-helper/procmig-helper.sh: ships it to a host on first use (cached
// there by content hash, so a new version is uploaded once and old hosts never run stale code)
// and runs its commands. The uploaded file carries the migration-ready launcher too (see
// helperScript), so `run-ready` has it wherever the helper is.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ExecOptions, ExecResult, Host, RunningCommand, SpawnOptions } from '../transport/host';
import { HelperSession } from './helperSession';

const MISSING = '__PROCMIG_HELPER_MISSING__';

/** The path on this machine of a file of `remote-helper/` (setup-host.sh, migration-ready.pl), or
 * of the helper built from it (procmig-helper.sh, in dist/remote-helper/). */
export function remoteHelperFile(name: string): string {
  // Bundled: dist/*.js → ./remote-helper, ../remote-helper; from source (tests): src/helper →
  // ../../remote-helper, ../../dist/remote-helper.
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, 'remote-helper', name), path.join(dir, 'dist', 'remote-helper', name)]) {
      if (existsSync(candidate)) return candidate;
    }
    if (path.dirname(dir) === dir) throw new Error(`remote-helper/${name} is missing from the installation (node esbuild.config.mjs builds the helper)`);
  }
}

let script: { text: string; name: string } | undefined;
/** The helper as uploaded, as remote-helper/build.mjs built it: the sh script, whose last command
 * is `exit`, then the launcher (`#!/usr/bin/perl` …), which `perl -x` finds there. One file,
 * cached by one hash. */
export function helperScript(): { text: string; name: string } {
  if (!script) {
    const text = readFileSync(remoteHelperFile('procmig-helper.sh'), 'utf8');
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
    script = { text, name: `helper-${hash}.sh` };
  }
  return script;
}

/** A helper command failed; `message` is the helper's own one-line explanation. */
export class HelperError extends Error {
  constructor(
    message: string,
    readonly host: string,
    readonly command: string,
    readonly result: ExecResult,
  ) {
    super(message);
    this.name = 'HelperError';
  }
  /** CRIU log lines the helper attached (prefixed `criu-log: `). */
  get criuLog(): string[] {
    return this.result.stderr
      .split('\n')
      .filter((l) => l.startsWith('criu-log: '))
      .map((l) => l.slice('criu-log: '.length));
  }
}

/** Helper commands that change nothing on the host, so that running one twice is harmless. */
const LOOK_ONLY = new Set(['caps', 'host-state', 'tree-use', 'ps', 'inspect', 'state', 'verify', 'version', 'ptys', 'listener']);

/** Helper commands that always get their own exec channel, never the helper session: those
 * that stream, hold a pty, run long (they would hold up the session's other requests) or whose
 * processes outlive the request and must keep the channel (daemons, tunnels, guards). */
const OWN_CHANNEL = new Set([
  'serve',
  'page-server',
  'pre-dump',
  'dump',
  'dump-lazy',
  'lazy-pages',
  'direct-client',
  'direct-server',
  'direct-tunnel',
  'tar-out',
  'tar-in',
  'tmpfs-out',
  'tmpfs-in',
  'restore',
  'restore-tty',
  'restore-fg',
  'tty-attach',
  'guard',
  'run-ready',
  'exec-ready',
  'tree-use', // samples for half a second
  'free-port', // seeds its pick with its PID, the session's for every request
]);

/** Helper sessions per host: a second opens only while the first is busy. */
const MAX_SESSIONS = 2;

/** A helper session, open or being opened (undefined: it could not open), and its requests. */
interface SessionEntry {
  session: Promise<HelperSession | undefined>;
  load: number;
}

export class HostHelper {
  /** Set once a command ran: the helper is there, no need to check again before a spawn. */
  private installed = false;
  /** Open sessions, or being opened (undefined: could not open; the command takes exec). */
  private sessions: SessionEntry[] = [];
  /** A host whose spawn cannot run the session (a test's fake): every command takes exec. */
  private sessionless: boolean;
  private installing?: Promise<void>;

  private constructor(readonly host: Host) {
    // This machine's commands are cheap to start: the session is for SSH round trips.
    this.sessionless = host.isLocal;
  }

  private static readonly helpers = new WeakMap<Host, HostHelper>();
  static for(host: Host): HostHelper {
    let helper = HostHelper.helpers.get(host);
    if (!helper) HostHelper.helpers.set(host, (helper = new HostHelper(host)));
    return helper;
  }

  /** argv that runs the cached helper, or reports it missing with a sentinel (one round trip). */
  private argv(args: readonly string[]): string[] {
    const { name } = helperScript();
    const launcher =
      `f="\${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/${name}"; ` +
      `[ -f "$f" ] || { echo ${MISSING}; exit 97; }; exec sh "$f" "$@"`;
    return ['sh', '-c', launcher, 'procmig-helper', ...args];
  }

  /** Installs the helper, once for concurrent callers. */
  private install(): Promise<void> {
    this.installing ??= this.upload().finally(() => (this.installing = undefined));
    return this.installing;
  }

  private async upload(): Promise<void> {
    const { name, text } = helperScript();
    const installer =
      'd="${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator"; mkdir -p "$d" && chmod 700 "$d" && ' +
      `cat > "$d/${name}.$$" && chmod 755 "$d/${name}.$$" && mv "$d/${name}.$$" "$d/${name}"`;
    const result = await this.host.exec(['sh', '-c', installer], { stdin: text });
    if (result.code !== 0) {
      throw new HelperError(
        `Could not install the Process Migrator helper on ${this.host.name}: ${firstLine(result.stderr) || 'unknown error'}.`,
        this.host.name,
        'install',
        result,
      );
    }
  }

  /** Runs a helper command; resolves with its result whatever the exit code. Short commands go
   * through the host's helper session; the others (OWN_CHANNEL, a stdin stream, an abort signal)
   * each get their own channel. */
  async exec(args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const stdin = options?.stdin;
    const viaSession =
      !this.sessionless && !OWN_CHANNEL.has(args[0] ?? '') && !options?.signal && (stdin === undefined || typeof stdin === 'string' || Buffer.isBuffer(stdin));
    return viaSession ? this.execInSession(args, stdin as string | Buffer | undefined) : this.execOwnChannel(args, options);
  }

  private async execInSession(args: readonly string[], stdin: string | Buffer | undefined): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      const entry = this.pickSession();
      entry.load++;
      try {
        const session = await entry.session;
        if (!session) return await this.execOwnChannel(args, stdin === undefined ? undefined : { stdin });
        const result = await session.request(args, stdin);
        if (!('died' in result)) return result;
        this.dropSession(entry);
        // The session's channel ended with this command in flight: one that only looks is asked
        // again, once, on a new session; any other may have run, so it fails as its exec would.
        if (attempt > 1 || !LOOK_ONLY.has(args[0] ?? '') || stdin !== undefined) return { ...result.died, stdout: '', stderr: '' };
      } finally {
        entry.load--;
      }
    }
  }

  /** An idle session, a new one while fewer than MAX_SESSIONS, else the least busy. */
  private pickSession(): SessionEntry {
    const idle = this.sessions.find((e) => e.load === 0);
    if (idle) return idle;
    if (this.sessions.length >= MAX_SESSIONS) return this.sessions.reduce((a, b) => (b.load < a.load ? b : a));
    const entry: SessionEntry = { session: Promise.resolve(undefined), load: 0 };
    entry.session = this.openSession(entry);
    this.sessions.push(entry);
    return entry;
  }

  private dropSession(entry: SessionEntry): void {
    this.sessions = this.sessions.filter((e) => e !== entry);
    entry.session.then(
      (s) => s?.close(),
      () => {},
    );
  }

  /** Starts `serve`, installing the helper first if the host lacks it. Undefined when the host
   * cannot run it: the command then takes its own channel, which reports why in its words. */
  private async openSession(entry: SessionEntry): Promise<HelperSession | undefined> {
    try {
      return await this.startSession(entry);
    } catch (err) {
      this.dropSession(entry); // the install failed: its error is the command's
      throw err;
    }
  }

  private async startSession(entry: SessionEntry): Promise<HelperSession | undefined> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      let command: RunningCommand;
      try {
        command = this.host.spawn(this.argv(['serve']));
      } catch {
        this.sessionless = true; // a fake host without spawn
        break;
      }
      const session = new HelperSession(command, MISSING);
      const started = await session.started;
      if (started === 'ready') {
        this.installed = true;
        // A session whose channel ends (connection lost, helper killed) is replaced on next use.
        void command.exited.then(() => this.dropSession(entry));
        return session;
      }
      if (started !== 'missing' || attempt > 1) break;
      await this.install();
    }
    this.dropSession(entry);
    return undefined;
  }

  private async execOwnChannel(args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    let result = await this.host.exec(this.argv(args), options);
    if (result.code === 97 && result.stdout.startsWith(MISSING)) {
      await this.install();
      result = await this.host.exec(this.argv(args), options);
    }
    // A session that closed without an exit status on a live connection (seen, rarely, for a
    // normal user's first commands on a host): a command that only looks is asked again, once.
    if (result.code === null && !result.signal && !result.connectionLost && LOOK_ONLY.has(args[0] ?? '') && !options?.stdin) {
      result = await this.host.exec(this.argv(args), options);
    }
    if (result.code !== 97) this.installed = true;
    return result;
  }

  /** Runs a helper command and rejects with its explanation when it fails. */
  async run(args: readonly string[], options?: ExecOptions): Promise<string> {
    const result = await this.exec(args, options);
    if (result.code !== 0) {
      const reason =
        result.stderr
          .split('\n')
          .filter((l) => l && !l.startsWith('criu-log: '))
          .pop() ?? (result.signal ? `ended by ${result.signal}` : result.connectionLost ? 'the connection dropped' : result.code === null ? 'its SSH session closed without an exit status' : `exit code ${result.code}`);
      throw new HelperError(reason, this.host.name, args[0] ?? '', result);
    }
    return result.stdout;
  }

  /** Starts a long-running helper command (page server, image streams). The helper must
   * already be installed: call `ensureInstalled()` first. */
  spawn(args: readonly string[], options?: SpawnOptions): RunningCommand {
    return this.host.spawn(this.argv(args), options);
  }

  /** Ends the helper sessions (the host's close() ends them too, with its connection). */
  closeSessions(): void {
    for (const entry of this.sessions) this.dropSession(entry);
  }

  async ensureInstalled(): Promise<void> {
    if (!this.installed) await this.run(['version']);
  }
}

export function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim())?.trim() ?? '';
}

/** `key=value` lines → record (later keys win). */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.includes('\t')) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
