// A standby's checkpoint over the direct tunnel, the helper's two ends run here on the built
// helper (no tunnel between them: the sender connects to the receiver's page socket itself):
// images-in unpacks the one connection into its image directory, images-out sends what tar-out
// would (no logs, no one-time keys, no sockets), and direct-rm removes the keys afterwards.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { remoteHelperFile } from '../../src/helper/hostHelper';

const helper = remoteHelperFile('procmig-helper.sh');
const base = mkdtempSync(path.join(tmpdir(), 'checkpoint-stream-'));
after(() => rmSync(base, { recursive: true, force: true }));
const env = { ...process.env, PROCMIG_IMAGES_DIR: base };

describe('images-in / images-out', () => {
  it('carries the images, not the logs, keys or sockets, and direct-rm clears the keys', async () => {
    const from = path.join(base, 'img.source');
    const to = path.join(base, 'img.standby');
    mkdirSync(path.join(from, 'direct'), { recursive: true, mode: 0o700 });
    mkdirSync(path.join(to, 'direct'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(from, 'pages-1.img'), Buffer.alloc(1 << 20, 7));
    writeFileSync(path.join(from, 'core-1.img'), 'core');
    writeFileSync(path.join(from, 'dump.log'), 'log');
    writeFileSync(path.join(from, 'direct', 'key'), 'secret');
    writeFileSync(path.join(to, 'direct', 'host_key'), 'secret');

    const receiver = spawn('sh', [helper, 'images-in', to], { env });
    let out = '';
    let errors = '';
    receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
    receiver.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    const exited = new Promise<number | null>((resolve) => receiver.on('close', resolve));
    while (!/^listening \d+$/m.test(out)) await new Promise((r) => setTimeout(r, 20));

    const sent = spawnSync('sh', [helper, 'images-out', from, path.join(to, 'pages.sock')], { env, encoding: 'utf8' });
    assert.equal(sent.status, 0, sent.stderr);
    // As the orchestrator does: it waits for the receiver to end on its own (tar done with the
    // closed connection); an ended stdin stops it, however far tar got.
    assert.equal(await exited, 0, errors);
    receiver.stdin.end();
    assert.deepEqual(readdirSync(to).sort(), ['core-1.img', 'direct', 'pages-1.img']);
    assert.equal(readFileSync(path.join(to, 'pages-1.img')).length, 1 << 20);
    assert.deepEqual(readdirSync(path.join(to, 'direct')), ['host_key'], "the source's one-time key stays there");

    assert.equal(spawnSync('sh', [helper, 'direct-rm', to], { env }).status, 0);
    assert.equal(existsSync(path.join(to, 'direct')), false);
    assert.notEqual(spawnSync('sh', [helper, 'direct-rm', '/etc'], { env }).status, 0, 'only in an image directory');
  });

  it('a receiver nobody sends to ends with its stdin (the orchestrator gone)', async () => {
    const to = path.join(base, 'img.idle');
    mkdirSync(to, { mode: 0o700 });
    const receiver = spawn('sh', [helper, 'images-in', to], { env });
    let out = '';
    receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => receiver.on('close', resolve));
    while (!/^listening \d+$/m.test(out)) await new Promise((r) => setTimeout(r, 20));
    receiver.stdin.end();
    assert.notEqual(await exited, 0);
  });
});
