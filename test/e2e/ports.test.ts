// Listening ports are reported, --forward-ports keeps the source's 127.0.0.1:PORT answering
// from the destination, and a port taken on the destination refuses the move before the freeze.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, migrateForwarding, procmig, startHttpCounter, useLab } from './support/lab';

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

  it('a port another process listens on at the destination refuses the move before the freeze, naming that process', async () => {
    const port = 18182;
    const server = await startHttpCounter(A, port);
    const other = await startHttpCounter(B, port);
    cleanup.push(() => kill(A, server.pid), () => kill(B, server.pid), () => kill(B, other.pid));
    assert.equal(await server.get(A), '2'); // 1 served as it started
    const result = await procmig(['migrate', String(server.pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(result.code, 0);
    const r = result.json;
    assert.equal(r.ok, false);
    assert.equal(
      r.error,
      `Port ${port} is taken on ${B}: node (PID ${other.pid}) listens on it there (127.0.0.1), and the process listens on 127.0.0.1:${port}; stop that one, or move this process to another host.`,
    );
    assert.equal(r.freezeMs, 0, 'never frozen');
    assert.equal(await server.get(A), '3', 'the server answers on lab-a, its count going on');
    assert.equal(await other.get(B), '2', 'the other one on lab-b is untouched');
  });
});
