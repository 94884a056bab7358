// A Vite dev server on Node.js 24, started migration-ready on lab-a, moves to lab-b with plain
// `procmig migrate`: its esbuild child (the transform service, on pipes) still transforms, its
// file watcher (inotify; CRIU restores its watches by path, on lab-b's own copy of the project)
// still sees edits, and an HMR client connecting again with the server's in-memory token receives
// the update for the module graph built on lab-a.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { kill, migrationReadyLauncher, node24, onHost, repo, sharedDir, startDetached, stateOf, useLab, waitFor } from './support/lab';
import { A, B, curl, moveProgram, untilServes } from './support/programs';

const cleanup = useLab();
const dir = sharedDir('vite');
/** The project: a copy of its own on each host (in each host's /tmp), as on two machines with the
 * same checkout, so the watcher on lab-b must watch lab-b's files. */
const app = '/tmp/e2e-vite-app';
const template = path.join(dir, 'app');
const port = 18320;
const base = `http://127.0.0.1:${port}`;
const hmrLog = '/tmp/e2e-vite-hmr.log';

/** counter.ts accepts its own updates, so an edit is a `js-update` of that module alone. */
const counterModule = (count: number) => `export const count: number = ${count};\nimport.meta.hot?.accept();\n`;

/** A stand-in for the browser's Vite client (Node 24 has WebSocket built in): connects to the
 * HMR websocket and prints a line per event. With FILE and CONTENT, it writes the module once
 * the server says it is connected, prints the update the server pushes, and exits. */
const hmrClient = `import { writeFileSync } from 'node:fs';
const [url, file, content] = process.argv.slice(2);
const ws = new WebSocket(url, 'vite-hmr');
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 30_000);
ws.onerror = () => console.log('error');
ws.onclose = (e) => { console.log('closed ' + e.code); process.exit(file ? 1 : 0); };
ws.onmessage = ({ data }) => {
  const msg = JSON.parse(data);
  if (msg.type === 'connected') {
    console.log('connected');
    if (file) writeFileSync(file, content);
    else clearTimeout(timer);
  } else if (file && (msg.type === 'update' || msg.type === 'full-reload')) {
    console.log(JSON.stringify(msg));
    process.exit(0);
  }
};
`;

let node = '';
let vite = '';
before(() => {
  node = node24();
  vite = execFileSync('sh', [path.join(repo, 'scripts', 'install-vite.sh'), dir], { encoding: 'utf8' }).trim().split('\n').pop()!;
  rmSync(template, { recursive: true, force: true });
  mkdirSync(template);
  writeFileSync(path.join(template, 'index.html'), '<!doctype html>\n<script type="module" src="/main.ts"></script>\n');
  writeFileSync(path.join(template, 'main.ts'), "import { count } from './counter.ts';\ndocument.title = String(count);\n");
  writeFileSync(path.join(template, 'counter.ts'), counterModule(1));
  writeFileSync(path.join(dir, 'hmr-client.mjs'), hmrClient);
});

describe('a Vite dev server', () => {
  it('moves on Node.js 24, started migration-ready; esbuild, the watcher and HMR work on lab-b', { timeout: 240_000 }, async (t) => {
    for (const host of [A, B]) await onHost(host, `rm -rf ${app} && cp -r ${template} ${app}`);
    cleanup.push(() => onHost(A, `rm -rf ${app}`).then(), () => onHost(B, `rm -rf ${app}`).then());
    const pid = await startDetached(A, `perl ${migrationReadyLauncher()} ${node} ${vite} ${app} --host 127.0.0.1 --port ${port} --strictPort`);
    cleanup.push(() => kill(A, pid));
    // esbuild strips the types: the transform service answers.
    assert.match(await untilServes(A, `${base}/counter.ts`, (b) => b.includes('export const count = 1;'), 120_000), /export const count = 1;/);
    await curl(A, `${base}/main.ts`); // the module graph now holds main.ts → counter.ts
    const token = /const wsToken = "([^"]+)"/.exec(await curl(A, `${base}/@vite/client`))?.[1];
    assert.ok(token, 'the client script carries the HMR token');
    const hmrUrl = `ws://127.0.0.1:${port}/?token=${token}`;
    const esbuild = Number(await onHost(A, `pgrep -P ${pid} -x esbuild`));
    assert.ok(esbuild > 0, 'vite runs its esbuild service as a child');

    // A client stays connected during the move, as a browser tab would.
    const client = Number(await onHost(A, `rm -f ${hmrLog}; setsid ${node} ${dir}/hmr-client.mjs '${hmrUrl}' </dev/null >${hmrLog} 2>&1 & echo $!`));
    cleanup.push(() => kill(A, client));
    await waitFor(async () => (await onHost(A, `cat ${hmrLog}`)) === 'connected', 30_000);

    const destinationPid = await moveProgram(t, 'Vite 7 dev server on Node.js 24 (migration-ready)', pid);
    cleanup.push(() => kill(B, destinationPid));
    assert.equal(await stateOf(A, pid), 'gone');
    assert.equal(await stateOf(B, esbuild), 'running', 'the esbuild child moved with it');
    // The move closed its connection (a reset: the browser's client then polls and reconnects).
    await waitFor(async () => /closed/.test(await onHost(A, `cat ${hmrLog}`)), 30_000);

    // The client connects again, to lab-b, with the token of lab-a's server; the module is edited
    // in lab-b's copy: the watcher sees it and the server pushes an update for the graph it kept.
    const update = JSON.parse(await onHost(B, `${node} ${dir}/hmr-client.mjs '${hmrUrl}' ${app}/counter.ts '${counterModule(2)}' | tail -n 1`));
    assert.equal(update.type, 'update', JSON.stringify(update));
    assert.deepEqual(
      update.updates.map((u: { type: string; path: string }) => [u.type, u.path]),
      [['js-update', '/counter.ts']],
    );
    assert.match(await curl(B, `${base}/counter.ts`), /export const count = 2;/, 'the edited module is transformed again');
    await onHost(B, `echo 'export const fresh: string = "new";' > ${app}/fresh.ts`);
    assert.match(await curl(B, `${base}/fresh.ts`), /export const fresh = "new";/, 'esbuild transforms a module it never saw');
  });
});
