// Kinds of kernel state that CRIU handles with the right options: each program holds one kind,
// moves from lab-a to lab-b with no options, and is asked on lab-b for what it held. Those CRIU
// cannot carry are refused by the preflight in one sentence, before any freeze.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, sharedDir, startDetached, stateOf, waitFor, useLab, type CliResult } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();
const dir = sharedDir('kinds');

/** Writes a Python program where both hosts see it; returns its path. */
function program(name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** Starts `python3 FILE ARGS` detached on lab-a; it and whatever it becomes on lab-b are killed after. */
async function start(file: string, args: string, ready: string): Promise<number> {
  const pid = await startDetached(A, `python3 ${file} ${args}`);
  cleanup.push(() => kill(A, pid), () => kill(B, pid));
  await waitFor(async () => (await onHost(A, `cat ${ready} 2>/dev/null || true`)) !== '', 15_000);
  return pid;
}

async function migrate(pid: number): Promise<CliResult> {
  return procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
}

function assertMoved(r: CliResult) {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.ok, true, r.json.error);
}

/** Refused before any freeze: one sentence, no freeze phase, the source as it was. */
async function assertRefused(r: CliResult, pid: number, expected: RegExp, state = 'running') {
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.json.error, expected);
  assert.doesNotMatch(r.json.error, /\n/);
  assert.equal(r.json.phases.freeze, undefined, 'never frozen');
  assert.equal(r.json.phases.dump, undefined, 'never dumped');
  assert.equal(await stateOf(A, pid), state);
}

const option = (r: CliResult, prefix: string) => (r.json.options as { option: string; reason: string }[]).find((o) => o.option.startsWith(prefix));

/** The last line of a file on a host. */
const last = (host: string, file: string) => onHost(host, `tail -n1 ${file} 2>/dev/null || true`);

describe('kinds of process state', () => {
  it('deleted files, open (5 MB) and mapped (3 MB): carried as ghost files with a raised --ghost-limit, same content on lab-b', async () => {
    const file = program(
      'deleted.py',
      `import hashlib, mmap, os, sys, time
a = os.urandom(5_000_000); b = os.urandom(3_000_000)
open("/tmp/kinds-del-fd", "wb").write(a); open("/tmp/kinds-del-map", "wb").write(b)
f = open("/tmp/kinds-del-fd", "rb")
g = open("/tmp/kinds-del-map", "r+b"); m = mmap.mmap(g.fileno(), 0); g.close()
os.unlink("/tmp/kinds-del-fd"); os.unlink("/tmp/kinds-del-map")
want = hashlib.sha256(a).hexdigest() + hashlib.sha256(b).hexdigest()
i = 0
while True:
    f.seek(0); i += 1
    got = hashlib.sha256(f.read()).hexdigest() + hashlib.sha256(m[:]).hexdigest()
    open("/tmp/kinds-del.state", "w").write(f"{i} {'same' if got == want else 'DIFFERENT'}\\n")
    time.sleep(0.2)
`,
    );
    for (const h of [A, B]) await onHost(h, 'rm -f /tmp/kinds-del.state /tmp/kinds-del-fd /tmp/kinds-del-map');
    const pid = await start(file, '', '/tmp/kinds-del.state');
    const r = await migrate(pid);
    assertMoved(r);
    const ghost = option(r, 'dump --ghost-limit=');
    assert.ok(ghost, JSON.stringify(r.json.options));
    // 4.8 MiB and a quarter more, in whole MiB: 6 MiB.
    assert.equal(ghost.option, `dump --ghost-limit=${6 << 20}`);
    assert.match(ghost.reason, /2 deleted files .* the largest \/tmp\/kinds-del-fd \(4\.8 MiB\)/);
    // The program reads both back on lab-b and finds what it wrote.
    const before = Number((await last(B, '/tmp/kinds-del.state')).split(' ')[0]);
    await waitFor(async () => Number((await last(B, '/tmp/kinds-del.state')).split(' ')[0]) > before + 1);
    assert.match(await last(B, '/tmp/kinds-del.state'), / same$/);
    assert.equal(await stateOf(A, pid), 'gone');
  });
});
