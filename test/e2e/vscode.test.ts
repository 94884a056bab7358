// The extension in a real VS Code (code-server's server + Chromium): the mocha suite inside the
// extension host and the Playwright UI run (test/vscode/run.ts), as one test of `npm test`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { before, it } from 'node:test';
import { ensureLab, repo } from './support/lab';

function run(command: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    // Output goes to stderr: node's test runner owns stdout (TAP).
    const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(process.stderr, { end: false });
    child.stderr.pipe(process.stderr, { end: false });
    child.on('close', resolve);
  });
}

before(() => ensureLab());

it('the extension works in a real VS Code: tree, commands, migration, cancel, report', { timeout: 30 * 60_000 }, async () => {
  assert.equal(await run('sh', [path.join(repo, 'scripts', 'install-vscode-test.sh')]), 0, 'installing code-server and Chromium');
  assert.equal(await run('node', ['--import', 'tsx', path.join(repo, 'test', 'vscode', 'run.ts')]), 0, 'test:vscode failed (its output is above)');
});
