// A suite of real programs: each starts on lab-a, moves to lab-b with `procmig migrate` and no
// options, and is then asked on lab-b for the state it held. Each test prints its freeze and
// total times (`program: … | freeze … ms | total … ms`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { kill, migrateForwarding, migrationReadyLauncher, node24, onHost, procmig, sharedDir, startDetached, stateOf, useLab, waitFor } from './support/lab';
import { A, B, curl, moveProgram, printTimes, untilServes } from './support/programs';

const cleanup = useLab();
const dir = sharedDir('programs');
const timeout = 180_000;

/** A counter in memory, served over HTTP on 127.0.0.1:PORT (argv[2]); the same file for Node 20 and 24. */
const nodeCounter = `let n = 0;
require('http').createServer((q, r) => r.end(String(++n))).listen(Number(process.argv[2]), '127.0.0.1');
`;

const goCounter = `package main

import (
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	var n int64
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, atomic.AddInt64(&n, 1)) })
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
`;

const javaCounter = `import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;

public class Counter {
    public static void main(String[] args) throws Exception {
        AtomicLong n = new AtomicLong();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 0);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        server.createContext("/", exchange -> {
            byte[] body = Long.toString(n.incrementAndGet()).getBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }
}
`;

/** A WSGI app whose counter lives in a shared anonymous mapping made by the master (--preload),
 * so both forked workers count on the same number; each answer says which worker served it. */
const gunicornApp = `import mmap, os, struct
counter = mmap.mmap(-1, 8)  # MAP_SHARED | MAP_ANONYMOUS, inherited by the workers
def app(environ, start_response):
    n = struct.unpack('q', counter[:8])[0] + 1
    counter[:8] = struct.pack('q', n)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [f'{n} {os.getpid()}'.encode()]
`;

/** A Jupyter front end in a few lines: runs code in the kernel of a connection file and prints
 * the value of an expression, as a notebook does. Only the shell channel: its reply carries the
 * value, and a request waits in ZeroMQ's queue until the kernel answers (slow on shared cores). */
const kernelClient = `import sys
from jupyter_client import BlockingKernelClient
conn, code, expr = sys.argv[1:4]
client = BlockingKernelClient(connection_file=conn)
client.load_connection_file()
client.start_channels()
msg_id = client.execute(code, user_expressions={'v': expr})
while True:
    reply = client.get_shell_msg(timeout=60)
    if reply['parent_header'].get('msg_id') == msg_id:
        break
print(reply['content']['user_expressions']['v']['data']['text/plain'])
client.stop_channels()
`;

before(() => {
  writeFileSync(path.join(dir, 'counter.js'), nodeCounter);
  writeFileSync(path.join(dir, 'counter_app.py'), gunicornApp);
  writeFileSync(path.join(dir, 'kernel_client.py'), kernelClient);
  // Built here, at the shared path, so both hosts have the same binaries (as after a deploy).
  writeFileSync(path.join(dir, 'counter.go'), goCounter);
  execFileSync('go', ['build', '-o', path.join(dir, 'counter-go'), path.join(dir, 'counter.go')], { env: { ...process.env, GOFLAGS: '', GO111MODULE: 'off' } });
  writeFileSync(path.join(dir, 'Counter.java'), javaCounter);
  execFileSync('javac', ['-d', dir, path.join(dir, 'Counter.java')]);
});

/** Starts an HTTP counter, takes `served` answers on lab-a, moves it and checks that lab-b
 * answers with the next number. */
async function counterMoves(t: Parameters<typeof moveProgram>[0], program: string, command: string, port: number, served = 3) {
  const pid = await startDetached(A, command);
  // A JVM killed by the cleanup leaves its perf-data file behind.
  cleanup.push(() => kill(A, pid), () => onHost(A, `rm -f /tmp/hsperfdata_*/${pid}`).then());
  const url = `http://127.0.0.1:${port}/`;
  assert.equal(await untilServes(A, url), '1', `${program} serves on lab-a`);
  for (let i = 2; i <= served; i++) assert.equal(await curl(A, url), String(i));

  const destinationPid = await moveProgram(t, program, pid);
  cleanup.push(() => kill(B, destinationPid));
  assert.equal(await stateOf(A, pid), 'gone');
  assert.equal(await curl(B, url), String(served + 1), `the counter continues on lab-b after ${served} answers on lab-a`);
  assert.equal(await curl(B, url), String(served + 2));
  return destinationPid;
}

describe('real programs move from lab-a to lab-b with their state', () => {
  it('a Node.js 20 HTTP server (/usr/bin/node): its in-memory counter continues', { timeout }, async (t) => {
    await counterMoves(t, 'Node.js 20 HTTP server', `/usr/bin/node ${dir}/counter.js 18300`, 18300);
  });

  it('a Node.js 24 HTTP server started migration-ready: its in-memory counter continues', { timeout }, async (t) => {
    const node = node24();
    const pid = await counterMoves(t, 'Node.js 24 HTTP server (migration-ready)', `perl ${migrationReadyLauncher()} ${node} ${dir}/counter.js 18301`, 18301);
    assert.equal(await onHost(B, `ls -l /proc/${pid}/fd | grep -c io_uring || true`), '0', 'libuv fell back to epoll');
    assert.match(await onHost(B, `grep Seccomp: /proc/${pid}/status`), /Seccomp:\s+2/, 'the filter moved with it');
  });

  it('a Go HTTP server: its in-memory counter continues', { timeout }, async (t) => {
    const pid = await counterMoves(t, 'Go HTTP server', `${dir}/counter-go 18302`, 18302);
    assert.ok(Number(await onHost(B, `ls /proc/${pid}/task | wc -l`)) > 1, 'the Go runtime threads moved');
  });

  // The JVM maps its performance counters from /tmp/hsperfdata_<user>/<pid> (MAP_SHARED, on
  // by default): a file of the process's own, on a per-host /tmp, that the destination lacks.
  // Where /tmp is a tmpfs it travels with the images (as POSIX shared memory does); on a /tmp on
  // disk, as on Debian 12 and in the lab, it does not yet.
  it('a Java 17 HTTP server with default JVM flags is refused before any freeze, told to restart it with -XX:+PerfDisableSharedMem', { timeout }, async () => {
    const pid = await startDetached(A, `java -cp ${dir} Counter 18303`);
    cleanup.push(() => kill(A, pid), () => onHost(A, `rm -f /tmp/hsperfdata_root/${pid}`).then(() => undefined));
    await waitFor(async () => (await onHost(A, `curl -s --max-time 2 http://127.0.0.1:18303/ || true`)) !== '', 60_000);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.json.error, /^The process is a Java VM that keeps its performance counters in \/tmp\/hsperfdata_root\/\d+, .* restart it with `-XX:\+PerfDisableSharedMem`/);
    assert.equal(r.json.phases.freeze, undefined);
    assert.equal(await stateOf(A, pid), 'running');
  });

  it('a Java 17 HTTP server without the perf-data file (-XX:+PerfDisableSharedMem): its counter continues, its threads with it', { timeout }, async (t) => {
    const pid = await counterMoves(t, 'Java 17 HTTP server (-XX:+PerfDisableSharedMem)', `java -XX:+PerfDisableSharedMem -cp ${dir} Counter 18306`, 18306);
    assert.ok(Number(await onHost(B, `ls /proc/${pid}/task | wc -l`)) > 10, 'the JVM with its many threads moved');
  });

  it('Redis (no persistence): the keys set on lab-a are there on lab-b', { timeout }, async (t) => {
    const port = 18304;
    const cliOn = (host: string, args: string) => onHost(host, `redis-cli -p ${port} ${args}`);
    const pid = await startDetached(A, `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no`);
    cleanup.push(() => kill(A, pid));
    await waitFor(async () => (await cliOn(A, 'ping').catch(() => '')) === 'PONG');
    assert.equal(await cliOn(A, 'set greeting hello'), 'OK');
    assert.equal(await cliOn(A, 'incrby hits 41'), '41');
    assert.equal(await cliOn(A, 'rpush queue a b c'), '3');
    assert.equal(await cliOn(A, 'config get save'), 'save', 'persistence is off: the keys live in memory only');

    const destinationPid = await moveProgram(t, 'Redis', pid);
    cleanup.push(() => kill(B, destinationPid));
    assert.equal(await cliOn(B, 'get greeting'), 'hello');
    assert.equal(await cliOn(B, 'incr hits'), '42');
    assert.equal(await cliOn(B, 'lrange queue 0 -1'), 'a\nb\nc');
  });

  it('a gunicorn master with two workers: both answer on lab-b and their shared counter continues', { timeout }, async (t) => {
    const port = 18305;
    const url = `http://127.0.0.1:${port}/`;
    const pid = await startDetached(A, `/usr/bin/gunicorn --preload -w 2 -b 127.0.0.1:${port} --chdir ${dir} counter_app:app`);
    cleanup.push(() => kill(A, pid));
    await untilServes(A, url);
    const workersOnA = (await onHost(A, `pgrep -P ${pid}`)).split('\n').map(Number);
    assert.equal(workersOnA.length, 2, 'two workers on lab-a');
    /** Requests until both workers have answered (bounded); each answer is the next number. */
    const askBoth = async (host: string, from: number) => {
      const workers = new Set<number>();
      let n = from;
      for (let i = 0; i < 40 && workers.size < 2; i++) {
        const [count, worker] = (await curl(host, url)).split(' ').map(Number);
        assert.equal(count, ++n, 'one counter, shared by both workers');
        workers.add(worker);
      }
      return { workers, n };
    };
    const onA = await askBoth(A, 1);
    assert.deepEqual([...onA.workers].sort(), [...workersOnA].sort(), 'both workers answered on lab-a');

    const destinationPid = await moveProgram(t, 'gunicorn master + 2 workers', pid);
    cleanup.push(() => kill(B, destinationPid));
    const workersOnB = (await onHost(B, `pgrep -P ${destinationPid}`)).split('\n').map(Number);
    assert.equal(workersOnB.length, 2, 'the master still has its two workers, no new ones forked');
    const onB = await askBoth(B, onA.n);
    assert.equal(onB.workers.size, 2, 'both workers answer on lab-b');
  });

  it('a Jupyter kernel started from a connection file: x set on lab-a is read through the forwarded ports by jupyter_client', { timeout }, async (t) => {
    const conn = path.join(dir, 'kernel-conn.json');
    const ports = { shell_port: 18310, iopub_port: 18311, stdin_port: 18312, control_port: 18313, hb_port: 18314 };
    writeFileSync(conn, JSON.stringify({ ...ports, ip: '127.0.0.1', transport: 'tcp', signature_scheme: 'hmac-sha256', key: 'e2e-programs-kernel', kernel_name: 'python3' }));
    const client = (host: string, code: string, expr: string) => onHost(host, `/usr/bin/python3 ${dir}/kernel_client.py ${conn} '${code}' '${expr}'`);
    // As the Jupyter extension starts it: `python -m ipykernel_launcher -f <connection file>`.
    const pid = await startDetached(A, `/usr/bin/python3 -m ipykernel_launcher -f ${conn}`);
    cleanup.push(() => kill(A, pid));
    const listening = Object.values(ports).map((p) => `-e :${p}$`).join(' ');
    await waitFor(async () => Number(await onHost(A, `ss -Hltn | awk '{print $4}' | grep -c ${listening} || true`)) === 5, 60_000);
    assert.equal(await client(A, 'x = 42', 'x'), '42');

    const forwarding = await migrateForwarding([pid], A, B, cleanup, 120_000);
    const r = forwarding.json;
    assert.equal(r.ok, true, r.error);
    cleanup.push(() => kill(B, r.destinationPid));
    printTimes(t, 'Jupyter kernel (ipykernel, --forward-ports)', r);
    for (const port of Object.values(ports)) assert.ok(r.listeningPorts.includes(port), `port ${port} is forwarded`);

    // The front end stays on lab-a and uses the same connection file: it reaches the kernel on lab-b.
    assert.equal(await client(A, 'y = x + 1', '(x, y, __import__("socket").gethostname())'), "(42, 43, 'lab-b')");
    assert.equal(await forwarding.stop(), 0, forwarding.stderr());
  });
});
