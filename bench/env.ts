// What the numbers were measured on, and the procmig build under test.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CRIU, DESTINATION, SOURCE, exec, now, oneLine, repo, ssh } from './lab';
import { stat } from './report';

export interface Environment {
  date: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cores: number;
  memTotalMiB: number;
  criu: Record<string, string>;
  node: string;
  openssh: string;
  python: string;
  gitCommit: string;
  cli: string;
  /** Median wall time of `ssh lab-a true` from the root namespace: what every by-hand step pays. */
  sshRoundTripMs: number;
  load: { start: string; end?: string };
  pipeMaxSize: number;
  imagesFilesystem: string;
}

async function out(file: string, args: string[]): Promise<string> {
  const r = await exec(file, args);
  return (r.stdout || r.stderr).trim();
}

export async function describeEnvironment(cli: string): Promise<Environment> {
  const cpuinfo = await out('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]);
  const criu: Record<string, string> = {};
  for (const host of [SOURCE, DESTINATION]) criu[host] = oneLine((await ssh(host, `${CRIU} --version | head -n1`)).stdout).replace(/^Version:\s*/, '');
  const trips: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = now();
    await ssh(SOURCE, 'true');
    trips.push(now() - t0);
  }
  const fs = oneLine((await ssh(SOURCE, "df -T /var/tmp | awk 'NR==2 {print $2}'")).stdout);
  const commit = await out('git', ['-C', repo, 'rev-parse', '--short=12', 'HEAD']);
  return {
    date: new Date().toISOString(),
    kernel: os.release(),
    arch: os.arch(),
    cpuModel: cpuinfo.trim(),
    cores: os.cpus().length,
    memTotalMiB: Math.round(os.totalmem() / (1 << 20)),
    criu,
    node: process.version,
    openssh: (await out('ssh', ['-V'])).split(',')[0],
    python: (await ssh(SOURCE, '/usr/bin/python3 --version')).stdout.trim(),
    gitCommit: commit,
    cli,
    sshRoundTripMs: Math.round(stat(trips)!.median),
    load: { start: os.loadavg().map((l) => l.toFixed(2)).join(' ') },
    pipeMaxSize: Number(await out('cat', ['/proc/sys/fs/pipe-max-size'])),
    imagesFilesystem: fs,
  };
}

/**
 * Builds the procmig under test into its own file, so another engineer rebuilding dist/ during
 * the run cannot change it midway. `head` (default) bundles the committed tree (or a given commit),
 * `worktree` the files as they are now; a path to a .js file is used as it is.
 */
export interface BuiltCli {
  path: string;
  description: string;
  /** The same tree's engine bundled for this process (`engine.js` next to procmig.js, exporting
   * createEngine and, where the tree has it, the extension's ReconfigurableEngine), or why not. */
  engine: { path: string } | { missing: string };
  cleanup: () => void;
}

export async function buildCli(which: string): Promise<BuiltCli> {
  if (which.endsWith('.js')) {
    const beside = path.join(path.dirname(path.resolve(which)), 'engine.js');
    const engine = existsSync(beside) ? { path: beside } : { missing: `no engine.js next to ${which} (the bench builds one for --cli head, a commit or worktree)` };
    return { path: path.resolve(which), description: which, engine, cleanup: () => undefined };
  }
  const dir = mkdtempSync('/tmp/bench-cli-');
  // A copy of the sources with remote-helper/ next to them: the bundle finds the helper script by
  // walking up from its own directory (dist/procmig.js → ../remote-helper).
  const root = path.join(dir, 'tree');
  let copy: string;
  let description: string;
  if (which === 'head' || /^[0-9a-f]{7,40}$/.test(which)) {
    const rev = which === 'head' ? 'HEAD' : which;
    copy = `git -C ${repo} archive ${rev} src remote-helper tsconfig.json | tar -x -C ${root}`;
    description = `${which === 'head' ? 'HEAD' : 'commit'} ${await out('git', ['-C', repo, 'rev-parse', '--short=12', rev])}`;
  } else if (which === 'worktree') {
    copy = `cp -r ${repo}/src ${repo}/remote-helper ${repo}/tsconfig.json ${root}/`;
    description = `the working tree at ${await out('git', ['-C', repo, 'rev-parse', '--short=12', 'HEAD'])}`;
  } else {
    throw new Error(`--cli must be head, a commit, worktree or a path to procmig.js (got ${which})`);
  }
  const r = await exec('sh', ['-c', `mkdir -p ${root} && ${copy}`]);
  if (r.code !== 0) throw new Error(`copying the sources failed: ${oneLine(r.stderr)}`);
  const esbuild = await import('esbuild');
  const outfile = path.join(root, 'dist', 'procmig.js');
  const common: import('esbuild').BuildOptions = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'cpu-features', '*.node'],
    loader: { '.sh': 'text' },
    nodePaths: [path.join(repo, 'node_modules')],
    logLevel: 'warning',
  };
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'src', 'cli', 'main.ts')], outfile });
  // The engine of the same tree, for the in-process rows (warm, vscode): next to procmig.js, so it
  // finds the helper the same way. An older tree without it leaves those rows out, with a note.
  const engineFile = path.join(root, 'dist', 'engine.js');
  let engine: BuiltCli['engine'];
  try {
    const exports = ["export { createEngine } from './migration/engine';"];
    if (existsSync(path.join(root, 'src', 'ui', 'hosts', 'engineHost.ts'))) exports.push("export { ReconfigurableEngine } from './ui/hosts/engineHost';");
    await esbuild.build({ ...common, stdin: { contents: exports.join('\n'), resolveDir: path.join(root, 'src'), sourcefile: 'bench-engine.ts', loader: 'ts' }, outfile: engineFile, logLevel: 'silent' });
    engine = { path: engineFile };
  } catch (err) {
    engine = { missing: `the engine of ${description} could not be bundled: ${oneLine(err instanceof Error ? err.message : String(err), 200)}` };
  }
  // As esbuild.config.mjs does: the host helper (built from remote-helper/parts/ where the tree
  // has them) and ssh2's compiled crypto binding next to the bundle, when built.
  const helperBuild = path.join(root, 'remote-helper', 'build.mjs');
  if (existsSync(helperBuild)) (await import(helperBuild)).writeHelper(path.join(root, 'dist'), path.join(root, 'remote-helper'));
  const binding = path.join(repo, 'node_modules', 'ssh2', 'lib', 'protocol', 'crypto', 'build', 'Release', 'sshcrypto.node');
  if (existsSync(binding)) {
    mkdirSync(path.join(root, 'dist', 'crypto', 'build', 'Release'), { recursive: true });
    copyFileSync(binding, path.join(root, 'dist', 'crypto', 'build', 'Release', 'sshcrypto.node'));
  }
  return { path: outfile, description: `procmig built from ${description}`, engine, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
