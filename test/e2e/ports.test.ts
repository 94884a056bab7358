// Listening ports are reported, and --forward-ports keeps the source's 127.0.0.1:PORT answering
// from the destination.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { cli, kill, onHost, sshConfig, startDetached, waitFor, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

describe('ports', () => {
  it('a Node HTTP server moved from lab-a still answers on lab-a 127.0.0.1:PORT through the forwarder, its counter continuing', async () => {
    const port = 18181;
    const server = `node -e 'let n = 0; require("http").createServer((q, r) => r.end(String(++n))).listen(${port}, "127.0.0.1")'`;
    const pid = await startDetached(A, server);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    const get = (host: string) => onHost(host, `curl -s --max-time 5 http://127.0.0.1:${port}/`);
    await waitFor(async () => (await get(A).catch(() => '')) !== '');
    await get(A); // 2 served on A

    const child = spawn('node', [cli, '--ssh-config', sshConfig, 'migrate', String(pid), '--from', A, '--to', B, '--forward-ports', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanup.push(async () => void child.kill('SIGKILL'));
    await waitFor(async () => /Forwarding 127\.0\.0\.1:/.test(stderr) || child.exitCode !== null, 60_000);
    assert.match(stderr, new RegExp(`Forwarding 127\\.0\\.0\\.1:${port} on lab-a to the same port on lab-b`), stdout + stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(result.listeningPorts, [port]);

    assert.equal(await get(A), '3', 'lab-a:PORT reaches the server now on lab-b');
    assert.equal(await get(B), '4', 'the same server, directly on lab-b');
    assert.equal(await get(A), '5');

    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /Stopped forwarding after 2 connections/);
    assert.equal(await get(A).catch(() => ''), '', 'nothing listens on lab-a any more');
  });
});
