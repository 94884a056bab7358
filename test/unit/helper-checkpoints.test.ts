// The standby side of protection in the built helper (remote-helper/parts/75-checkpoints.sh),
// run here by sh with a scratch image base: generations arrive beside the newest complete one,
// which goes only once the next is complete, all 0700; the end deletes everything.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, it } from 'node:test';
import { parseKeyValues, remoteHelperFile } from '../../src/helper/hostHelper';

const helper = remoteHelperFile('procmig-helper.sh');
const scratch = mkdtempSync(path.join(tmpdir(), 'helper-checkpoints-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const base = path.join(scratch, 'images');

function run(...args: string[]): { code: number | null; out: Record<string, string>; stderr: string } {
  const r = spawnSync('sh', [helper, ...args], { encoding: 'utf8', env: { ...process.env, PROCMIG_IMAGES_DIR: base } });
  return { code: r.status, out: parseKeyValues(r.stdout), stderr: r.stderr };
}

it('keeps the newest complete generation until the next one is complete, and deletes all at the end', () => {
  const made = run('protect-new');
  assert.equal(made.code, 0, made.stderr);
  const dir = made.out.dir;
  assert.ok(dir.startsWith(`${base}/protect.`) && Number(made.out.free_kib) > 0);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const generation = (n: number) => {
    const arriving = run('protect-gen', dir, String(n));
    assert.equal(arriving.code, 0, arriving.stderr);
    assert.equal(statSync(arriving.out.dir).mode & 0o777, 0o700);
    writeFileSync(path.join(arriving.out.dir, 'pages-1.img'), 'x'.repeat(4096));
  };
  generation(1);
  assert.equal(run('protect-commit', dir, '1').code, 0);
  generation(2);
  assert.deepEqual(readdirSync(dir).sort(), ['gen.1', 'gen.2.partial'], 'the newest stays while the next arrives');
  const committed = run('protect-commit', dir, '2');
  assert.equal(committed.code, 0, committed.stderr);
  assert.deepEqual(readdirSync(dir), ['gen.2']);
  assert.ok(Number(committed.out.kib) >= 4);
  generation(3); // never committed: the host went away meanwhile
  assert.equal(run('protect-end', dir).code, 0);
  assert.deepEqual(readdirSync(base), []);
});

it('refuses paths that are not a protection directory', () => {
  for (const dir of [`${base}/img.x`, `${base}/protect.x/../other`, '/etc']) {
    const r = run('protect-end', dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refusing to touch/);
  }
});
