// The ssh config read by hand, for machines without OpenSSH's `ssh`: evaluates the files the way
// readconf.c does (Host and Match blocks, first value wins, Include, the final pass after
// CanonicalizeHostname) and prints the same options `ssh -G` would for the keywords we use.
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { TransportError } from './host';
import { ALLOWED_TOKENS, connectionHash, expandEnv, expandFileKeyword, expandTilde, expandTokens, type TokenValues } from './sshTokens';

/** What `ssh -G` prints: lower-case keyword → one value per printed line. */
export type SshOptions = Record<string, string[]>;

export interface FallbackInput {
  /** The host as typed (without user@ and :port). */
  host: string;
  user?: string;
  port?: number;
  /** `-F`: only this file; otherwise ~/.ssh/config, then the system file. */
  configFile?: string;
  systemConfigFile?: string;
  local: Pick<TokenValues, 'd' | 'i' | 'L' | 'l' | 'u'>;
}

const MAX_INCLUDE_DEPTH = 16; // READCONF_MAX_DEPTH
const MULTI_VALUED = new Set(['identityfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv']);
/** Keywords whose value is the rest of the line as written (readconf.c parse_command). */
const COMMANDS = new Set(['proxycommand', 'knownhostscommand', 'localcommand', 'remotecommand', 'proxyjump']);
/** Keywords that keep all their words (the others keep their first). */
const LISTS = new Set(['userknownhostsfile', 'globalknownhostsfile', 'canonicaldomains', 'sendenv', 'setenv', 'canonicalizepermittedcnames', 'localforward', 'remoteforward']);
const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'].map((f) => `~/.ssh/${f}`);

interface ConfigLine {
  keyword: string;
  args: string[];
  /** What the keyword stores: the first word, all words for lists, the raw rest for commands. */
  value: string;
}

/** misc.c argv_split: words split at blanks, '…' and "…" quoting, \ escapes, `#` starts a comment. */
export function splitArgs(text: string, where: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++;
      continue;
    }
    if (text[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < text.length; i++) {
      const c = text[i]!;
      const next = text[i + 1];
      if (c === '\\' && (next === "'" || next === '"' || next === '\\' || (!quote && next === ' '))) arg += text[++i];
      else if (!quote && (c === ' ' || c === '\t')) break;
      else if (!quote && (c === '"' || c === "'")) quote = c;
      else if (quote && c === quote) quote = '';
      else arg += c;
    }
    if (quote) throw new TransportError(`The ssh config ${where} has an unclosed quote.`, 'config');
    args.push(arg);
  }
  return args;
}

/** The file's directives in order (Host and Match lines included), split as readconf.c does. */
function readLines(file: string): ConfigLine[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TransportError(`Cannot read the ssh config ${file}: ${(err as Error).message}.`, 'config', { cause: err });
  }
  const lines: ConfigLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/[ \t\r\f]+$/, '');
    // strdelim: the keyword ends at a blank or `=`; one `=` may separate it from the value.
    const m = /^[ \t]*([^ \t=#][^ \t=]*)(?:[ \t]*=[ \t]*|[ \t]+|$)(.*)$/.exec(line);
    if (!m) return;
    const keyword = m[1]!.toLowerCase();
    const rest = m[2]!;
    const args = splitArgs(rest, `${file} line ${index + 1}`);
    const value = COMMANDS.has(keyword) ? rest : LISTS.has(keyword) ? args.join(' ') : (args[0] ?? '');
    lines.push({ keyword, args, value });
  });
  return lines;
}

/** match_pattern: `*` and `?` over the whole string. */
function matchPattern(text: string, pattern: string, ignoreCase = false): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'is' : 's').test(text);
}

/** match_pattern_list: comma-separated, a matching negation vetoes. */
function matchPatternList(text: string, list: string, ignoreCase = false): boolean {
  let matched = false;
  for (const p of list.split(',')) {
    const negated = p.startsWith('!');
    if (matchPattern(text, negated ? p.slice(1) : p, ignoreCase)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function runInShell(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = execFile(process.env.SHELL || '/bin/sh', ['-c', command], { timeout: 30_000 }, (err) => resolve(!err));
    child.stdin?.end();
  });
}

/** One evaluation of the config files for one destination, as readconf.c's Options. */
class Evaluation {
  readonly options = new Map<string, string[]>();
  wantFinalPass = false;

  constructor(private readonly input: FallbackInput) {
    if (input.user) this.options.set('user', [input.user]);
    if (input.port) this.options.set('port', [String(input.port)]);
  }

  first(keyword: string): string | undefined {
    return this.options.get(keyword)?.[0];
  }

  private set(line: ConfigLine): void {
    const k = line.keyword;
    if (MULTI_VALUED.has(k)) {
      this.options.set(k, [...(this.options.get(k) ?? []), line.value]);
      return;
    }
    // ProxyCommand and ProxyJump exclude each other (readconf.c): a ProxyCommand is skipped after a
    // ProxyJump other than `none`, a ProxyJump after either.
    const jump = this.first('proxyjump');
    if (k === 'proxycommand' && jump && jump.toLowerCase() !== 'none') return;
    if (k === 'proxyjump' && (this.options.has('proxycommand') || jump)) return;
    if (!this.options.has(k)) this.options.set(k, [line.value]);
  }

  /** The tokens Match exec and Include see so far (readconf.c expand_match_exec_or_include_path). */
  private tokens(host: string): TokenValues {
    const jump = this.first('proxyjump');
    const v = {
      ...this.input.local,
      h: host,
      k: this.first('hostkeyalias') ?? host,
      n: this.input.host,
      p: this.first('port') ?? '22',
      r: this.first('user') ?? this.input.local.u,
      j: jump && jump.toLowerCase() !== 'none' ? jump : '',
      C: '',
    };
    return { ...v, C: connectionHash(v) };
  }

  /** The host name Match host sees: HostName with %h so far, the canonical name in the final pass. */
  private matchHost(host: string, final: boolean): string {
    const hostName = this.first('hostname');
    if (final || !hostName) return final ? (hostName ?? host) : host;
    return hostName.replace(/%(.)/g, (w, t: string) => (t === 'h' ? host : t === '%' ? '%' : w));
  }

  private async matchLine(args: string[], host: string, final: boolean): Promise<boolean> {
    const current = this.matchHost(host, final);
    let result = true;
    let attributes = 0;
    for (let i = 0; i < args.length; i++) {
      let attrib = args[i]!;
      const negate = attrib.startsWith('!');
      if (negate) attrib = attrib.slice(1);
      let arg: string | undefined;
      const eq = /^(\w+)=(.*)$/.exec(attrib);
      if (eq) [attrib, arg] = [eq[1]!, eq[2]!];
      const name = attrib.toLowerCase();
      if (name === 'all') {
        if (attributes > 1 || i < args.length - 1) throw new TransportError(`The ssh config's Match ${args.join(' ')}: 'all' cannot be combined with other Match attributes.`, 'config');
        return result && !negate;
      }
      attributes++;
      if (name === 'canonical' || name === 'final') {
        if (name === 'final' && !negate) this.wantFinalPass = true;
        if (final === negate) result = false;
        continue;
      }
      arg ??= args[++i];
      if (arg === undefined) throw new TransportError(`The ssh config's Match ${args.join(' ')}: missing argument for ${attrib}.`, 'config');
      let matched: boolean;
      switch (name) {
        case 'host':
          matched = matchPatternList(current.toLowerCase(), arg, true);
          break;
        case 'originalhost':
          matched = matchPatternList(this.input.host.toLowerCase(), arg, true);
          break;
        case 'user':
          matched = matchPatternList(this.first('user') ?? this.input.local.u, arg);
          break;
        case 'localuser':
          matched = matchPatternList(this.input.local.u, arg);
          break;
        case 'exec': {
          const command = expandTokens(arg, this.tokens(current), ALLOWED_TOKENS.default, 'Match exec');
          if (!result) continue; // ssh skips the command once an earlier criterion failed
          matched = await runInShell(command);
          break;
        }
        default:
          // localnetwork, tagged, version, … : not evaluated here, so the block does not apply.
          matched = negate;
      }
      if (matched === negate) result = false;
    }
    if (!attributes) throw new TransportError(`The ssh config has a Match line without criteria.`, 'config');
    return result;
  }

  /** Reads one file (and what it includes) against `host`; `active` is the enclosing block's state. */
  async readFile(file: string, host: string, final: boolean, relativeTo: string, active = true, depth = 0): Promise<boolean> {
    if (depth > MAX_INCLUDE_DEPTH) throw new TransportError(`The ssh config ${file} nests Include too deeply (a loop?).`, 'config');
    const lines = readLines(file);
    if (!lines) return false;
    for (const line of lines) {
      switch (line.keyword) {
        case 'host': {
          active = false;
          for (const p of line.args) {
            const negated = p.startsWith('!');
            if (matchPattern(host, negated ? p.slice(1) : p)) {
              if (negated) {
                active = false;
                break;
              }
              active = true;
            }
          }
          break;
        }
        case 'match':
          active = await this.matchLine(line.args, host, final);
          break;
        case 'include':
          if (!active) break;
          for (const pattern of line.args) {
            // Relative to ~/.ssh for user files, to /etc/ssh for the system file (ssh_config(5)).
            const located = pattern.startsWith('~') ? expandTilde(pattern, this.input.local.d) : isAbsolute(pattern) ? pattern : join(relativeTo, pattern);
            const path = expandEnv(expandTokens(located, this.tokens(this.matchHost(host, final)), ALLOWED_TOKENS.default, 'Include'), 'Include');
            for (const included of globLastPart(path)) await this.readFile(included, host, final, relativeTo, active, depth + 1);
          }
          break;
        default:
          if (active) this.set(line);
      }
    }
    return true;
  }
}

/** Include globs `*` and `?` in the file name part, sorted, as glob(3) does. */
function globLastPart(path: string): string[] {
  const base = path.split('/').pop()!;
  if (!/[*?]/.test(base)) return [path];
  const dir = dirname(path);
  try {
    return readdirSync(dir)
      .filter((f) => !f.startsWith('.') && matchPattern(f, base))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** resolve_canonicalize: tries each CanonicalDomains suffix for a name with few enough dots. */
async function canonicalize(host: string, e: Evaluation): Promise<string> {
  const mode = (e.first('canonicalizehostname') ?? 'no').toLowerCase();
  if (mode === 'no' || mode === 'false' || isIP(host)) return host;
  const proxied = [e.first('proxycommand'), e.first('proxyjump')].some((v) => v && v.toLowerCase() !== 'none');
  if (proxied && mode !== 'always') return host;
  if (host.endsWith('.')) return host.slice(0, -1);
  const maxDots = Number(e.first('canonicalizemaxdots') ?? 1);
  if (host.split('.').length - 1 > maxDots) return host;
  for (const domain of (e.first('canonicaldomains') ?? '').split(/\s+/).filter(Boolean)) {
    if (domain.toLowerCase() === 'none') break;
    const full = `${host}.${domain}`;
    if (await lookup(`${full}.`).then(() => true, () => false)) return full.toLowerCase();
  }
  if (['no', 'false'].includes((e.first('canonicalizefallbacklocal') ?? 'yes').toLowerCase())) {
    throw new TransportError(`Unknown host ${host}: it is in none of the CanonicalDomains of the ssh config, and CanonicalizeFallbackLocal is off.`, 'unknown-host');
  }
  return host;
}

/** The options `ssh -G` would print for the keywords this product uses, read from the files. */
export async function evaluateConfigFiles(input: FallbackInput): Promise<SshOptions> {
  const e = new Evaluation(input);
  const home = input.local.d;
  const passes = async (host: string, final: boolean) => {
    if (input.configFile) {
      if (!(await e.readFile(input.configFile, host, final, join(home, '.ssh')))) {
        throw new TransportError(`The ssh config ${input.configFile} does not exist.`, 'config');
      }
    } else {
      await e.readFile(join(home, '.ssh', 'config'), host, final, join(home, '.ssh'));
      const system = input.systemConfigFile ?? '/etc/ssh/ssh_config';
      await e.readFile(system, host, final, dirname(system));
    }
  };
  await passes(input.host, false);

  // ssh.c: HostName (with %h) replaces the host, which is then canonicalised, and a final pass
  // re-reads the files when canonicalisation is on or a `Match final` asked for it.
  let host = input.host;
  const hostName = e.first('hostname');
  if (hostName) host = expandTokens(hostName, { h: host }, ALLOWED_TOKENS.hostName, 'HostName');
  if (!isIP(host)) host = host.toLowerCase();
  host = await canonicalize(host, e);
  const mode = (e.first('canonicalizehostname') ?? 'no').toLowerCase();
  if (e.wantFinalPass || !['no', 'false'].includes(mode)) {
    e.options.set('hostname', [host]);
    await passes(host, true);
  }

  const o = e.options;
  const jump = e.first('proxyjump');
  const values: TokenValues = {
    ...input.local,
    h: host,
    n: input.host,
    p: e.first('port') ?? '22',
    r: '',
    j: jump && jump.toLowerCase() !== 'none' ? jump : '',
    k: (e.first('hostkeyalias') ?? input.host).toLowerCase(),
    C: '',
  };
  // User accepts tokens when it comes from the config (OpenSSH ≥ 9.6), not from the command line.
  const configUser = e.first('user');
  values.r = input.user ?? (configUser !== undefined ? expandEnv(expandTokens(configUser, values, ALLOWED_TOKENS.user, 'User'), 'User') : input.local.u);
  values.C = connectionHash(values);

  const known = (e.first('userknownhostsfile') ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2').split(/\s+/);
  const printed: SshOptions = Object.fromEntries(o);
  Object.assign(printed, {
    host: [input.host],
    user: [values.r],
    hostname: [host],
    port: [values.p],
    identityfile: o.get('identityfile') ?? DEFAULT_IDENTITY_FILES,
    userknownhostsfile: [known.length === 1 && known[0]!.toLowerCase() === 'none' ? 'none' : known.map((f) => expandFileKeyword(f, values, 'UserKnownHostsFile')).join(' ')],
    globalknownhostsfile: [e.first('globalknownhostsfile') ?? '/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2'],
    controlpath: [values.C],
  });
  if (o.has('hostkeyalias')) printed.hostkeyalias = [values.k];
  for (const k of ['proxycommand', 'proxyjump']) if (e.first(k)?.toLowerCase() === 'none') delete printed[k];
  return printed;
}

