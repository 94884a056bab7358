// A host check says what makes migrations slower on a host, with its fix: here, CRIU keeping its
// kernel probe only where /run is a tmpfs (each lab host mounts its own; this machine's /run is a
// directory on its disk).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { procmig, useLab } from './support/lab';

useLab();

describe('host notes', () => {
  it('a host whose /run is no tmpfs gets a note (CRIU probes its kernel on every run); one with a tmpfs /run none', async () => {
    const r = await procmig(['check', 'lab-a', 'local', '--json']);
    const [lab, local] = r.json as { host: string; problems: string[]; notes?: string[] }[];
    assert.equal(lab.notes, undefined, JSON.stringify(lab));
    const runIsTmpfs = execFileSync('stat', ['-f', '-c', '%T', '/run'], { encoding: 'utf8' }).trim() === 'tmpfs';
    if (runIsTmpfs) return assert.equal(local.notes, undefined);
    assert.equal(local.notes?.length, 1, JSON.stringify(local));
    assert.match(local.notes![0], /^CRIU probes the kernel of local anew on every run, .* \/run on local is not one/);
    assert.deepEqual(local.problems, [], 'a note is no problem: the host still migrates');
  });
});
