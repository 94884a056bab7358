// ssh_config(5) TOKENS and environment variables: the values OpenSSH substitutes for `%x` and
// `${VAR}`, computed as ssh.c and readconf.c do, and which keywords accept which tokens.
import { createHash } from 'node:crypto';
import { homedir, hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { TransportError } from './host';

export interface TokenValues {
  /** Hash of %l%h%p%r%j (ssh's ControlPath hash); filled in last, from the others. */
  C: string;
  d: string;
  h: string;
  i: string;
  j: string;
  k: string;
  L: string;
  l: string;
  n: string;
  p: string;
  r: string;
  u: string;
}

/** Which tokens each kind of keyword accepts (ssh_config(5), TOKENS). */
export const ALLOWED_TOKENS = {
  /** CertificateFile, ControlPath, IdentityAgent, IdentityFile, Include, Match exec, UserKnownHostsFile, … */
  default: 'CdhijkLlnpru',
  hostName: 'h',
  /** ProxyCommand and ProxyJump; ssh also substitutes %k there (sshconnect.c). */
  proxy: 'hknpr',
  /** User: every default token but itself and %C, which hashes it (OpenSSH ≥ 9.6). */
  user: 'dhijkLlnpu',
} as const;

/** What the local side contributes: %d %i %L %l %u. */
export function localTokens(home?: string, localUser?: string): Pick<TokenValues, 'd' | 'i' | 'L' | 'l' | 'u'> {
  let info: { uid: number; username: string; homedir: string } | undefined;
  try {
    info = userInfo();
  } catch {
    info = undefined;
  }
  const l = hostname();
  return {
    d: home ?? info?.homedir ?? homedir(),
    i: String(info?.uid ?? process.getuid?.() ?? 0),
    L: l.split('.')[0]!,
    l,
    u: localUser ?? info?.username ?? process.env.USER ?? 'root',
  };
}

/** OpenSSH's ssh_connection_hash: SHA-1 of %l%h%p%r%j, hex. */
export function connectionHash(v: Pick<TokenValues, 'l' | 'h' | 'p' | 'r' | 'j'>): string {
  return createHash('sha1').update(v.l + v.h + v.p + v.r + v.j).digest('hex');
}

/** percent_expand: `%%` is a literal `%`; a token the keyword does not accept is an error, as in ssh. */
export function expandTokens(text: string, values: Partial<TokenValues>, allowed: string, keyword: string): string {
  return text.replace(/%(.?)/g, (whole, t: string) => {
    if (t === '%') return '%';
    const value = allowed.includes(t) ? values[t as keyof TokenValues] : undefined;
    if (value === undefined) {
      throw new TransportError(`The ssh config uses ${whole || '%'} in ${keyword} (${text}), which ssh_config(5) does not allow there.`, 'config');
    }
    return value;
  });
}

/** dollar_expand: `${NAME}` from the environment; an unset variable is an error, as in ssh. */
export function expandEnv(text: string, keyword: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new TransportError(`The ssh config uses \${${name}} in ${keyword} (${text}), but ${name} is not set.`, 'config');
    return value;
  });
}

/** `~` and `~/…` are the local home; relative paths are relative to it, as ssh opens them from there. */
export function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : join(home, path);
}

/** A file keyword's value the way ssh.c expands it: tilde, then tokens and `${VAR}`. */
export function expandFileKeyword(path: string, values: TokenValues, keyword: string): string {
  const tilde = path.startsWith('~') ? expandTilde(path, values.d) : path;
  const expanded = expandEnv(expandTokens(tilde, values, ALLOWED_TOKENS.default, keyword), keyword);
  return isAbsolute(expanded) ? expanded : join(values.d, expanded);
}
