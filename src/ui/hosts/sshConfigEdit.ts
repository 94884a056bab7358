// Writing a new Host block into an ssh_config (Add Host…). Host-free; the command asks first.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface NewHost {
  alias: string;
  hostName: string;
  user?: string;
  port?: number;
}

const ALIAS_RE = /^[A-Za-z0-9._-]+$/;

/** Undefined when the alias can be used as a Host pattern, else what is wrong with it. */
export function validateAlias(alias: string): string | undefined {
  if (!alias) return 'Give the host a name.';
  if (!ALIAS_RE.test(alias)) return 'Use letters, digits, dots, dashes and underscores only (no spaces or wildcards).';
  if (alias === 'local') return '"local" is this machine; choose another name.';
  return undefined;
}

export function formatHostBlock(host: NewHost): string {
  const lines = [`Host ${host.alias}`, `  HostName ${host.hostName}`];
  if (host.user) lines.push(`  User ${host.user}`);
  if (host.port && host.port !== 22) lines.push(`  Port ${host.port}`);
  return lines.join('\n') + '\n';
}

/** True when a `Host` line of `text` names `alias` exactly. */
export function hasHostAlias(text: string, alias: string): boolean {
  return text
    .split('\n')
    .map((l) => /^\s*Host\s+(.*)$/i.exec(l)?.[1])
    .some((patterns) => patterns?.split(/\s+/).includes(alias));
}

/** Appends `block` to `file` (created 0600 in a 0700 directory when missing), after a blank line. */
export async function appendHostBlock(file: string, block: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const separator = existing === '' ? '' : existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  await appendFile(file, separator + block, { mode: 0o600 });
}
