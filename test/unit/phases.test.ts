// One table of phases: the order the CLI, the report and the progress show them in, and which
// of them the process spends frozen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PHASES, phaseInfo } from '../../src/migration/phases';
import { Timeline } from '../../src/migration/timeline';

describe('PHASES', () => {
  it('lists every phase once, in the order a migration begins them', () => {
    assert.deepEqual(PHASES, ['connect', 'preflight', 'rounds', 'freeze', 'dump', 'transfer', 'restore', 'memory', 'verify', 'pages', 'cleanup']);
  });

  it('marks the phases from the freeze until the process runs on the destination as frozen, and labels each', () => {
    assert.deepEqual(PHASES.filter((p) => phaseInfo(p)?.frozen), ['dump', 'transfer', 'restore', 'memory']);
    for (const p of PHASES) assert.ok(phaseInfo(p)?.label, p);
    assert.equal(phaseInfo('toString'), undefined, 'a name from elsewhere is unknown');
  });
});

describe('Timeline', () => {
  it('adds up a repeated phase and counts the frozen window from freeze to thaw', async () => {
    const t = new Timeline();
    await t.phase('connect', async () => undefined);
    await t.phase('connect', async () => undefined);
    assert.deepEqual(Object.keys(t.phases), ['connect']);
    assert.equal(t.frozen, false);
    t.freeze();
    assert.equal(t.frozen, true);
    t.thaw();
    assert.equal(t.frozen, false);
    assert.ok(t.freezeMs(false) >= 0);
  });
  it('a move that succeeded was down until it ran on the destination, not until it was checked', async () => {
    const t = new Timeline();
    t.freeze();
    t.restored();
    await new Promise((r) => setTimeout(r, 30));
    t.thaw();
    assert.ok(t.freezeMs(true) < 25, `${t.freezeMs(true)} ms`);
    assert.ok(t.freezeMs(false) >= 25, 'a failed one counts until the source ran again');
  });
});
