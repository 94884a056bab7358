// The same mocha suite in a desktop VS Code downloaded by @vscode/test-electron, for machines that
// can reach Microsoft's update site and show a window (or run under xvfb). Not usable on the CI
// machines here (no download); test/vscode/run.ts is the path that works everywhere.
// Usage: npm run test:electron   (PM_VSCODE_VERSION=stable|insiders|1.x.y picks the build)
// It starts no lab: the tests that need one fail unless PM_LAB_SSH_CONFIG names the lab's ssh config
// (lab-a, lab-b) or PROCESS_MIGRATOR_SKIP_LAB=1 skips them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  const workspace = mkdtempSync(join(tmpdir(), 'pm-electron-ws-'));
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(
    join(workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'processMigrator.autoRefreshSeconds': 0, 'processMigrator.hosts': ['no-such-host.invalid'] }, null, 2),
  );
  await runTests({
    version: process.env.PM_VSCODE_VERSION ?? 'stable',
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'dist', 'test', 'vscode', 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
