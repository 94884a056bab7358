// Migration-ready starts in VS Code, host-free: the shell of the terminal profile, the workspace's
// default profile, and the launch configurations js-debug gets (whose wrapper is run for real).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { migrationReadyArgv } from '../../src/migration/migrationReady';
import { MIGRATION_READY_PROFILE } from '../../src/ui/common/contributions';
import { defaultProfileChange, migrationReadyLaunch, migrationReadyShell, MIGRATION_READY_MARK, type LaunchConfiguration } from '../../src/ui/terminals/migrationReadyConfig';

const TITLE = MIGRATION_READY_PROFILE.title;

describe('migrationReadyShell', () => {
  const profiles = {
    bash: { path: 'bash' },
    zsh: { path: ['/no/such/zsh', '/usr/bin/zsh'], args: ['-l'], env: { ZDOTDIR: '/z' } },
    broken: { path: '/no/such/shell' },
  };
  const exists = (p: string) => p === '/usr/bin/zsh';

  it('runs the default profile the user chose, skipping this one and those that cannot start', () => {
    assert.deepEqual(migrationReadyShell([TITLE, undefined, 'zsh', 'bash'], profiles, {}, exists), { path: '/usr/bin/zsh', args: ['-l'], env: { ZDOTDIR: '/z' } });
    assert.deepEqual(migrationReadyShell([TITLE, 'broken', 'bash'], profiles, {}, exists), { path: 'bash', args: [] });
  });

  it('falls back to $SHELL, then /bin/sh', () => {
    assert.deepEqual(migrationReadyShell([TITLE, 'unknown', null], profiles, { SHELL: '/bin/bash' }, exists), { path: '/bin/bash', args: [] });
    assert.deepEqual(migrationReadyShell([], profiles, {}, exists), { path: '/bin/sh', args: [] });
  });
});

describe('defaultProfileChange', () => {
  it('sets the profile as the workspace default while on, once', () => {
    assert.deepEqual(defaultProfileChange(true, undefined, undefined), { value: TITLE });
    assert.deepEqual(defaultProfileChange(true, 'zsh', undefined), { value: TITLE });
    assert.equal(defaultProfileChange(true, TITLE, 'zsh'), undefined);
  });

  it('gives back the default it replaced when off, and leaves another choice alone', () => {
    assert.deepEqual(defaultProfileChange(false, TITLE, 'zsh'), { value: 'zsh' });
    assert.deepEqual(defaultProfileChange(false, TITLE, undefined), { value: undefined });
    assert.equal(defaultProfileChange(false, 'bash', 'zsh'), undefined);
    assert.equal(defaultProfileChange(false, undefined, undefined), undefined);
  });
});

describe('migrationReadyLaunch', () => {
  const context = { launcher: ['perl', '/ext/remote-helper/migration-ready.pl'], wrapperDir: '/storage/migration-ready' };
  const launch = (extra: Partial<LaunchConfiguration> = {}): LaunchConfiguration => ({ type: 'node', request: 'launch', name: 'app', program: '/w/app.js', ...extra });

  it('gives a Node.js launch a wrapper named like its runtime, which runs that runtime under the launcher', () => {
    const out = migrationReadyLaunch(launch({ runtimeExecutable: '/opt/node24/bin/node', console: 'integratedTerminal' }), context);
    assert.ok(out?.wrapper);
    assert.match(out.wrapper.file, /^\/storage\/migration-ready\/[0-9a-f]{12}\/node$/);
    assert.equal(out.config.runtimeExecutable, out.wrapper.file);
    assert.equal(out.config[MIGRATION_READY_MARK], true);
    assert.equal(out.config.console, 'integratedTerminal');
    assert.equal(out.config.program, '/w/app.js');
    assert.match(out.wrapper.text, /^#!\/bin\/sh\n/);
    assert.match(out.wrapper.text, / exec perl \/ext\/remote-helper\/migration-ready\.pl \/opt\/node24\/bin\/node "\$@"; fi\n/);
  });

  it("takes js-debug's default runtime when none is named, and keeps a wrapper per runtime", () => {
    const npm = migrationReadyLaunch(launch({ type: 'pwa-node', runtimeExecutable: 'npm', runtimeArgs: ['run', 'dev'] }), context);
    assert.match(npm!.wrapper!.file, /\/npm$/);
    assert.deepEqual(npm!.config.runtimeArgs, ['run', 'dev']);
    const byDefault = migrationReadyLaunch(launch({ runtimeExecutable: null }), { ...context, defaultRuntime: '/usr/local/bin/node' });
    assert.match(byDefault!.wrapper!.text, / \/usr\/local\/bin\/node "\$@"/);
    const plain = migrationReadyLaunch(launch(), context);
    assert.match(plain!.wrapper!.text, / node "\$@"/);
    assert.notEqual(dirname(plain!.wrapper!.file), dirname(byDefault!.wrapper!.file));
  });

  it('runs the command of a JavaScript Debug Terminal launch under the launcher', () => {
    const out = migrationReadyLaunch(launch({ type: 'node-terminal', command: "npm run dev -- --name 'a b'" }), context);
    assert.equal(out?.wrapper, undefined);
    assert.equal(out?.config.command, `perl /ext/remote-helper/migration-ready.pl sh -c 'npm run dev -- --name '\\''a b'\\'''`);
  });

  it('leaves attaches, other debuggers, bare debug terminals and configurations already done alone', () => {
    assert.equal(migrationReadyLaunch(launch({ request: 'attach', port: 9229 }), context), undefined);
    assert.equal(migrationReadyLaunch(launch({ type: 'python' }), context), undefined);
    assert.equal(migrationReadyLaunch(launch({ type: 'node-terminal' }), context), undefined);
    const once = migrationReadyLaunch(launch(), context)!;
    assert.equal(migrationReadyLaunch(once.config, context), undefined);
    // js-debug's child session gets the wrapper as its runtime, without the mark, and launches nothing.
    assert.equal(migrationReadyLaunch(launch({ type: 'pwa-node', runtimeExecutable: once.wrapper!.file }), context), undefined);
    assert.equal(migrationReadyLaunch(launch({ type: 'pwa-node', __pendingTargetId: 'abc' }), context), undefined);
  });

  it('starts the runtime with io_uring_setup filtered, passing --version on as js-debug asks it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-ready-unit-'));
    try {
      const out = migrationReadyLaunch(launch({ runtimeExecutable: process.execPath }), { launcher: migrationReadyArgv(), wrapperDir: dir })!;
      const { file, text } = out.wrapper!;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      chmodSync(file, 0o755);
      assert.equal(execFileSync(file, ['--version'], { encoding: 'utf8' }).trim(), process.version);
      const seccomp = execFileSync(file, ['-e', "process.stdout.write(require('fs').readFileSync('/proc/self/status', 'utf8').match(/^Seccomp:\\s*(\\d)/m)[1])"], { encoding: 'utf8' });
      assert.equal(seccomp, '2', 'the runtime runs under a seccomp filter');
      // Node's child_process gives stdio sockets, as js-debug's internal console does: the runtime
      // gets pipes instead (which a migration can take along), its output and exit code come through.
      const stdio = "const fs = require('fs'); console.log(['0', '1', '2'].map((fd) => fs.readlinkSync('/proc/self/fd/' + fd).replace(/:.*/, '')).join(' ')); console.error('to stderr'); process.exit(3)";
      const run = spawnSync(file, ['-e', stdio], { encoding: 'utf8' });
      assert.deepEqual([run.stdout, run.stderr, run.status], ['/dev/null pipe pipe\n', 'to stderr\n', 3]);
      // On a terminal or a file, the wrapper simply becomes the runtime.
      const written = join(dir, 'out');
      const fd = openSync(written, 'w');
      const direct = spawnSync(file, ['-e', `${stdio.replace(/process.exit\(3\)/, '')}; console.log(require('fs').readFileSync('/proc/' + process.ppid + '/comm', 'utf8').trim())`], { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      assert.equal(direct.status, 0);
      assert.equal(readFileSync(written, 'utf8'), `/dev/null ${written} ${written}\nto stderr\nnode\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the launcher in the installation', () => {
    const [perl, launcher] = migrationReadyArgv();
    assert.equal(perl, 'perl');
    assert.ok(existsSync(launcher), launcher);
  });
});
