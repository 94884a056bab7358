// The client side of remote-helper/procmig-helper.sh: ships it to a host on first use (cached
// there by content hash, so a new version is uploaded once and old hosts never run stale code)
// and runs its commands. The uploaded file carries the migration-ready launcher too (see
// helperScript), so `run-ready` has it wherever the helper is.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ExecOptions, ExecResult, Host, RunningCommand, SpawnOptions } from '../transport/host';
import { commandLine } from '../transport/sshHost';
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

export class HostHelper {
  /** Set once a command ran: the helper is there, no need to check again before a spawn. */
  private installed = false;
  /** The host's helper session (SSH hosts), started by the first command; undefined when it
   * cannot serve, and commands go one SSH exec each. */
  private session?: Promise<HelperSession | undefined>;
  private installing?: Promise<void>;

  private constructor(readonly host: Host) {}

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

  /** Installs the helper once, however many commands found it missing at the same time. */
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

  /** Runs a helper command; resolves with its result whatever the exit code. */
  async exec(args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const stdin = options?.stdin;
    // An abortable command, or one fed a stream, keeps its own channel.
    if (!this.host.isLocal && !options?.signal && (stdin === undefined || typeof stdin === 'string' || Buffer.isBuffer(stdin)) && HelperSession.carries(args)) {
      const session = await this.liveSession();
      if (session) {
        const started = performance.now();
        const result = await session.exec(args, stdin);
        this.host.log?.(`helper ${commandLine(args).slice(0, 160)}: exit ${result.code} in ${Math.round(performance.now() - started)} ms`);
        return result;
      }
    }
    return this.execOnce(args, options);
  }

  /** The session, started (and the helper installed) if need be; undefined when it cannot serve. */
  private async liveSession(): Promise<HelperSession | undefined> {
    // Set synchronously: commands issued together share the one session being started.
    const starting = (this.session ??= this.startSession());
    const current = await starting;
    if (!current) return undefined; // it could not serve: don't try for each command
    if (current.alive) return current;
    if (this.session === starting) this.session = this.startSession(); // ended (connection lost, say)
    return this.session;
  }

  private async startSession(): Promise<HelperSession | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let started;
      try {
        started = await HelperSession.start(this.host.spawn(this.argv(['serve'])), MISSING);
      } catch (err) {
        this.host.log?.(`helper session not started: ${(err as Error).message}`);
        return undefined; // commands go one exec each, as they did before sessions
      }
      if ('session' in started) {
        this.installed = true;
        return started.session;
      }
      if (!('missing' in started)) return undefined;
      await this.install();
    }
    return undefined;
  }

  /** One command on a channel of its own. */
  private async execOnce(args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    let result = await this.host.exec(this.argv(args), options);
    if (result.code === 97 && result.stdout.startsWith(MISSING)) {
      await this.install();
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
