// A Python program under debugpy moves with its debugger: `python3 -m debugpy --listen` on lab-a
// runs the program, and the adapter it spawns daemonizes (its own session, parent PID 1) and
// talks to the program over a loopback TCP connection. Both move in one batch; that connection
// is kept (CRIU's --tcp-established, both ends restored on lab-b's loopback), the debug port is
// forwarded back to lab-a, and a DAP client stops at a breakpoint there again, the counter
// continuing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { kill, migrateForwarding, onHost, sharedDir, startDetached, stateOf, useLab, waitFor } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

const PROGRAM = `import time

counter = 0
while True:
    counter += 1
    time.sleep(0.05)
`;
const BREAK_LINE = 5; // counter += 1

// A DAP client (Content-Length framed JSON over TCP): attaches to debugpy at 127.0.0.1:argv[2],
// stops at argv[3]:argv[4], prints `counter` there, clears the breakpoint and disconnects
// without ending the program.
const CLIENT = `
const net = require('net');
const [port, file, line] = process.argv.slice(2);
const sock = net.connect(Number(port), '127.0.0.1');
let seq = 0, buf = Buffer.alloc(0);
const replies = new Map(), events = [], eventWaiters = [];
const send = (command, args = {}) => new Promise((resolve, reject) => {
  const msg = JSON.stringify({ seq: ++seq, type: 'request', command, arguments: args });
  replies.set(seq, (r) => (r.success ? resolve(r.body || {}) : reject(new Error(command + ': ' + r.message))));
  sock.write('Content-Length: ' + Buffer.byteLength(msg) + '\\r\\n\\r\\n' + msg);
});
const event = (name) => new Promise((resolve) => {
  const i = events.findIndex((e) => e.event === name);
  if (i >= 0) resolve(events.splice(i, 1)[0]); else eventWaiters.push({ name, resolve });
});
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const end = buf.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    const len = Number(/Content-Length: (\\d+)/i.exec(buf.subarray(0, end).toString())[1]);
    if (buf.length < end + 4 + len) return;
    const msg = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString());
    buf = buf.subarray(end + 4 + len);
    if (msg.type === 'response') replies.get(msg.request_seq)?.(msg);
    else if (msg.type === 'event') {
      const i = eventWaiters.findIndex((w) => w.name === msg.event);
      if (i >= 0) eventWaiters.splice(i, 1)[0].resolve(msg); else events.push(msg);
    }
  }
});
const fail = (m) => { console.error('dap: ' + m); process.exit(1); };
sock.on('error', (e) => fail(e.message));
setTimeout(() => fail('timed out'), 30000).unref();
(async () => {
  await send('initialize', { adapterID: 'debugpy', clientID: 'procmig-test', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
  const attached = send('attach', { justMyCode: false });
  await event('initialized');
  await send('setBreakpoints', { source: { path: file }, breakpoints: [{ line: Number(line) }] });
  await send('configurationDone');
  await attached;
  const stopped = await event('stopped');
  const { stackFrames } = await send('stackTrace', { threadId: stopped.body.threadId, levels: 1 });
  const { scopes } = await send('scopes', { frameId: stackFrames[0].id });
  const { variables } = await send('variables', { variablesReference: scopes[0].variablesReference });
  await send('setBreakpoints', { source: { path: file }, breakpoints: [] });
  await send('disconnect', { terminateDebuggee: false });
  console.log(JSON.stringify(Number(variables.find((v) => v.name === 'counter').value)));
  process.exit(0);
})().catch((e) => fail(e.message));
`;

describe('debugpy', () => {
  it('a program under python3 -m debugpy --listen moves with its adapter to lab-b; their connection stays and a debugger stops at its breakpoint again through the forward, the counter continuing', async () => {
    const dir = sharedDir('debugpy-e2e');
    const client = path.join(dir, 'dap-client.js');
    const program = path.join(dir, 'counter.py');
    writeFileSync(client, CLIENT);
    writeFileSync(program, PROGRAM);
    const port = 15678;
    const counterAt = async (host: string) => Number(await onHost(host, `node ${client} ${port} ${program} ${BREAK_LINE}`));

    // Debian's python3-debugpy is for the system Python (python3 on PATH may be another one).
    const debuggee = await startDetached(A, `/usr/bin/python3 -m debugpy --listen 127.0.0.1:${port} ${program}`);
    cleanup.push(() => kill(A, debuggee), () => kill(B, debuggee));
    let adapter = 0;
    await waitFor(async () => {
      adapter = Number(await onHost(A, `ss -tlnpH 'sport = :${port}' | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p' | head -1`));
      return adapter > 0;
    });
    cleanup.push(() => kill(A, adapter), () => kill(B, adapter));
    // The layout this relies on: the adapter listens on the debug port and is not in the
    // program's tree; the two are linked by a loopback connection.
    assert.notEqual(adapter, debuggee);
    assert.equal(await onHost(A, `ps -o ppid= -p ${adapter} | tr -d ' '`), '1', 'the adapter daemonized');
    const links = () => onHost(A, `ss -tnpH state established | grep -E 'pid=(${debuggee}|${adapter}),' | wc -l`).then(Number);
    assert.equal(await links(), 2, 'one loopback connection between program and adapter');

    const before = await counterAt(A);
    assert.ok(before > 0);

    const forwarding = await migrateForwarding([debuggee, adapter], A, B, cleanup, 90_000);
    const stderr = forwarding.stderr();
    const batch = forwarding.json;
    assert.equal(batch.ok, true, batch.error ?? stderr);
    assert.match(stderr, new RegExp(`Forwarding 127\\.0\\.0\\.1:[0-9, ]*\\b${port}\\b`), stderr);
    for (const p of batch.processes) {
      const options = p.options.map((o: { option: string }) => o.option);
      assert.ok(options.includes('dump --tcp-established') && options.includes('restore --tcp-established'), options.join(' '));
      assert.ok(!options.some((o: string) => o.endsWith('--tcp-close')), options.join(' '));
      assert.equal(p.closedConnections, undefined);
    }
    const moved = new Map<number, number>(batch.processes.map((p: { sourcePid: number; destinationPid: number }) => [p.sourcePid, p.destinationPid]));
    assert.equal(await stateOf(A, debuggee), 'gone');
    assert.equal(await stateOf(A, adapter), 'gone');
    assert.equal(await stateOf(B, moved.get(debuggee)!), 'running');
    assert.equal(await stateOf(B, moved.get(adapter)!), 'running', 'the adapter kept its connection to the program (it exits when it loses it)');

    const through = await counterAt(A);
    assert.ok(through > before, `stopped again through lab-a's forwarded port: the counter continued (${before} before the move, ${through} after), not restarted`);
    const direct = await counterAt(B);
    assert.ok(direct > through, `and directly on lab-b (${direct})`);

    assert.equal(await forwarding.stop(), 0, forwarding.stderr());
  });
});
