// The orchestrator itself dies mid-migration (a closed laptop, a crashed VS Code window, a
// dropped network): no rollback runs here, so each host's guard must undo what it was told.
// Whatever phase it died in, the source runs on with its state, and neither host keeps a copy,
// images or a CRIU process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { cli, onHost, sshConfig, stateOf, tickerAdvances, useTicker, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const file = '/tmp/e2e-orphaned-ticks';
const ticker = useTicker(A, file);

/** Starts `procmig migrate` and SIGKILLs it as soon as it reports `phase`. */
function migrateAndDieAt(phase: string, strategy: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'migrate', String(ticker.pid), '--from', A, '--to', B, '--strategy', strategy, '--ssh-config', sshConfig], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let seen = '';
    child.stderr.on('data', (d: Buffer) => {
      seen += d.toString();
      if (new RegExp(`^${phase}:`, 'm').test(seen)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`procmig ended (${code}) before ${phase}:\n${seen}`))));
  });
}

describe('the orchestrator dies mid-migration', () => {
  for (const [phase, strategy] of [
    ['dump', 'stop-and-copy'],
    ['transfer', 'stop-and-copy'],
    ['verify', 'stop-and-copy'],
    ['restore', 'post-copy'],
  ] as const) {
    it(`${strategy}, killed in its ${phase} phase: the source runs on and nothing is left behind`, async () => {
      await migrateAndDieAt(phase, strategy);
      await waitFor(async () => (await stateOf(A, ticker.pid)) === 'running', 15_000).catch(() => undefined);
      assert.equal(await stateOf(A, ticker.pid), 'running', 'the source was resumed');
      assert.ok(await tickerAdvances(A, file), 'the source keeps counting');
      const leftovers = async () => {
        // [;] keeps pgrep from matching the shell that runs it.
        const copies = (await onHost(B, 'pgrep -f "while :[;] do i=" || true')).trim();
        const images = await onHost(A, 'ls /var/tmp/process-migrator 2>/dev/null | grep -c img. || true');
        const imagesB = await onHost(B, 'ls /var/tmp/process-migrator 2>/dev/null | grep -c img. || true');
        const criu = (await onHost(A, 'pgrep -xc criu || true')) + (await onHost(B, 'pgrep -xc criu || true'));
        return { copies, images: `${images}/${imagesB}`, criu };
      };
      await waitFor(async () => JSON.stringify(await leftovers()) === JSON.stringify({ copies: '', images: '0/0', criu: '00' }), 15_000).catch(() => undefined);
      assert.deepEqual(await leftovers(), { copies: '', images: '0/0', criu: '00' }, 'no copy on lab-b, no images, no CRIU on either host');
    });
  }
});
