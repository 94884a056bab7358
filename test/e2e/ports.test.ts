// Listening ports are reported, and --forward-ports keeps the source's 127.0.0.1:PORT answering
// from the destination.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, migrateForwarding, startHttpCounter, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

describe('ports', () => {
  it('a Node HTTP server moved from lab-a still answers on lab-a 127.0.0.1:PORT through the forwarder, its counter continuing', async () => {
    const port = 18181;
    const { pid, get } = await startHttpCounter(A, port);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await get(A); // 2 served on A

    const forwarding = await migrateForwarding([pid], A, B, cleanup, 60_000);
    const stderr = forwarding.stderr();
    assert.match(stderr, new RegExp(`Forwarding 127\\.0\\.0\\.1:${port} on lab-a to the same port on lab-b`), stderr);
    const result = forwarding.json;
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(result.listeningPorts, [port]);

    assert.equal(await get(A), '3', 'lab-a:PORT reaches the server now on lab-b');
    assert.equal(await get(B), '4', 'the same server, directly on lab-b');
    assert.equal(await get(A), '5');

    assert.equal(await forwarding.stop(), 0, forwarding.stderr());
    assert.match(forwarding.stderr(), /Stopped forwarding after 2 connections/);
    assert.equal(await get(A).catch(() => ''), '', 'nothing listens on lab-a any more');
  });
});
