// A Node.js program being debugged moves: `node --inspect` on lab-a with a Chrome DevTools
// Protocol client connected migrates to lab-b (the client's connection is closed by the move),
// its inspector port answers on lab-a's loopback through the engine's forward, and a new CDP
// client sees the same heap: the counter continues and a value set before the move is still there.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { PortForwarding } from '../../src/migration/api';
import { createEngine } from '../../src/migration/engine';
import { kill, onHost, sharedDir, sshConfig, startDetached, stateOf, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

// A CDP client for Node 20 (WebSocket behind a flag). Evaluates argv[3] in the debuggee at
// 127.0.0.1:argv[2] and prints the value; with argv[4] = a file, it stays connected with the
// debugger enabled (as an IDE would) and writes "closed" into that file when the connection ends.
const CLIENT = `
const [port, expression, holdFile] = process.argv.slice(2);
(async () => {
  const [target] = await (await fetch('http://127.0.0.1:' + port + '/json/list')).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  let id = 0;
  const send = (method, params = {}) => ws.send(JSON.stringify({ id: ++id, method, params }));
  ws.onopen = () => {
    if (holdFile) send('Debugger.enable');
    send('Runtime.evaluate', { expression, returnByValue: true });
  };
  ws.onmessage = (m) => {
    const r = JSON.parse(m.data);
    if (r.id !== id) return;
    console.log(JSON.stringify(r.result.result.value));
    if (holdFile) require('fs').writeFileSync(holdFile, 'connected');
    else process.exit(0);
  };
  ws.onclose = () => holdFile && require('fs').writeFileSync(holdFile, 'closed');
  ws.onerror = () => process.exit(1);
})();
`;

describe('debug', () => {
  it('a node --inspect program with a CDP client moves from lab-a to lab-b; its inspector answers through the forward and its state continues', async () => {
    const dir = sharedDir('debug-e2e');
    const client = path.join(dir, 'cdp-client.js');
    writeFileSync(client, CLIENT);
    const holdFile = '/tmp/pm-debug-client-state'; // lab-a's own /tmp
    const port = 19229;
    const cdp = (host: string, expression: string) =>
      onHost(host, `node --no-warnings --experimental-websocket ${client} ${port} '${expression}'`).then((out) => JSON.parse(out));

    const pid = await startDetached(A, `node --inspect=127.0.0.1:${port} -e 'globalThis.counter = 0; setInterval(() => { globalThis.counter++; }, 100)'`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await onHost(A, `curl -s --max-time 2 http://127.0.0.1:${port}/json/version`).catch(() => '')) !== '');
    await cdp(A, 'globalThis.marker = "set on lab-a"');
    await waitFor(async () => (await cdp(A, 'counter')) >= 10);

    // The debugger stays connected during the move.
    const holder = await startDetached(A, `node --no-warnings --experimental-websocket ${client} ${port} counter ${holdFile}`);
    cleanup.push(() => kill(A, holder));
    await waitFor(async () => (await onHost(A, `cat ${holdFile} 2>/dev/null || true`)) === 'connected');
    const before = await cdp(A, 'counter');

    const engine = createEngine({ sshConfigFile: sshConfig });
    let forwarding: PortForwarding | undefined;
    cleanup.push(async () => {
      await forwarding?.dispose();
      await engine.dispose();
    });
    const result = await engine.migrate({ pid, from: A, to: B, strategy: 'stop-and-copy' });
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(result.listeningPorts, [port]);
    assert.ok(result.closedConnections?.length, 'the CDP client connection was reported closed');
    assert.ok(result.options.some((o) => o.option.endsWith('--tcp-close')), JSON.stringify(result.options));
    assert.equal(await stateOf(A, pid), 'gone');
    assert.equal(await stateOf(B, result.destinationPid!), 'running');
    await waitFor(async () => (await onHost(A, `cat ${holdFile}`)) === 'closed');

    forwarding = await engine.forwardPorts!(A, B, [port]);
    assert.deepEqual(forwarding.failed, []);
    const version = JSON.parse(await onHost(A, `curl -s --max-time 5 http://127.0.0.1:${port}/json/version`));
    assert.match(version.Browser, /^node\.js/, 'the inspector answers on lab-a through the forward');

    assert.equal(await cdp(A, 'marker'), 'set on lab-a', 'the heap moved');
    const after = await cdp(A, 'counter');
    assert.ok(after >= before, `the counter continues (${before} before, ${after} after), not restarted`);
    await waitFor(async () => (await cdp(B, 'counter')) > after);
    assert.equal(await cdp(B, 'process.pid'), result.destinationPid);
  });
});
