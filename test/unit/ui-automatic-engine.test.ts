// The engine side of the automatic-migration UI, with a fake engine: the wrapper forwards the new
// optional methods (and says in one sentence what a lacking engine cannot do), host-state listeners
// survive a reconfigure, the Processes view's model keeps each host's measured state, and
// package.json offers each new command where the issue puts it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { HostState, Placement } from '../../src/migration/api';
import { engineSupports, MISSING_CAPABILITY, ReconfigurableEngine } from '../../src/ui/hosts/engineHost';
import { ProcessModel } from '../../src/ui/view/processModel';
import { FakeEngine } from './fakes/migration';

const state = (host: string, load1: number): HostState => ({
  host, measuredAt: new Date().toISOString(), stale: false, cpus: 2, load1, load5: load1, memAvailableBytes: 1 << 30, diskFreeBytes: 1 << 32,
});

/** A fake that measures hosts and places processes. */
class MeasuringEngine extends FakeEngine {
  listeners = new Set<(s: HostState) => void>();
  hostStates = async (hosts: string[]) => hosts.map((h) => state(h, 0.5));
  onHostState = (listener: (s: HostState) => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  place = async (): Promise<Placement> => ({ to: 'lab-b', reason: 'most headroom', candidates: [] });
  emit(s: HostState): void {
    for (const l of this.listeners) l(s);
  }
}

describe('ReconfigurableEngine and automatic migration', () => {
  it('forwards placement and host state, and keeps host-state listeners across engines', async () => {
    const made: MeasuringEngine[] = [];
    const engine = new ReconfigurableEngine(() => made[made.push(new MeasuringEngine()) - 1], {});
    const seen: string[] = [];
    engine.onHostState((s) => seen.push(`${s.host}:${s.load1}`));
    made[0].emit(state('lab-a', 1));
    engine.reconfigure({});
    made[1].emit(state('lab-b', 2));
    made[0].emit(state('lab-a', 3)); // the replaced engine no longer reports
    assert.deepEqual(seen, ['lab-a:1', 'lab-b:2']);
    assert.equal((await engine.place({ pid: 1, from: 'lab-a' })).to, 'lab-b');
    assert.ok(engineSupports(engine, 'place') && engineSupports(engine, 'hostStates'));
    assert.ok(!engineSupports(engine, 'evacuate') && !engineSupports(engine, 'protect'));
  });

  it('an engine without them: each call says what it cannot do, in one sentence', async () => {
    const engine = new ReconfigurableEngine(() => new FakeEngine(), {});
    await assert.rejects(engine.place({ pid: 1, from: 'a' }), { message: MISSING_CAPABILITY.place });
    await assert.rejects(engine.evacuate({ from: 'a' }), { message: MISSING_CAPABILITY.evacuate });
    await assert.rejects(engine.hostStates(['a']), { message: MISSING_CAPABILITY.hostStates });
    assert.throws(() => engine.protect({ pid: 1, from: 'a', standby: 'b', everySeconds: 10 }), { message: MISSING_CAPABILITY.protect });
    for (const sentence of Object.values(MISSING_CAPABILITY)) assert.ok(sentence.endsWith('.') && !sentence.includes('\n'));
  });
});

describe('ProcessModel: measured host state', () => {
  it('asks for each host once listed, and takes every later measurement', async () => {
    const engine = new MeasuringEngine();
    const model = new ProcessModel({ engine, listHosts: () => ['lab-a', 'lab-b'], myUid: 1000 });
    const changed: (string | undefined)[] = [];
    model.onDidChange((h) => changed.push(h));
    await model.measure();
    assert.equal(model.host('lab-a')?.measured?.load1, 0.5);
    engine.emit(state('lab-b', 1.75));
    assert.equal(model.host('lab-b')?.measured?.load1, 1.75);
    engine.emit(state('elsewhere', 1)); // not a host of the view
    assert.equal(model.host('elsewhere'), undefined);
    assert.ok(changed.includes('lab-b'));
    model.dispose();
  });

  it('an engine that measures nothing is asked once', async () => {
    let asked = 0;
    const engine = new FakeEngine();
    Object.assign(engine, { hostStates: async () => { asked++; throw new Error(MISSING_CAPABILITY.hostStates); } });
    const model = new ProcessModel({ engine, listHosts: () => ['lab-a'], myUid: 1000 });
    await model.measure();
    await model.measure();
    assert.equal(asked, 1);
  });
});

describe('package.json: the commands of automatic migration', () => {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    contributes: { commands: { command: string }[]; menus: Record<string, { command: string; when?: string }[]> };
  };
  /** Whether the context menu of a row with `contextValue` offers `command`. */
  const offered = (command: string, contextValue: string) =>
    manifest.contributes.menus['view/item/context'].some((m) => {
      if (m.command !== command || !m.when) return false;
      const eq = /viewItem == (\S+)/.exec(m.when);
      if (eq) return eq[1] === contextValue;
      return [...m.when.matchAll(/viewItem =~ \/(.*?)\/(?=\s|$)/g)].every((r) => new RegExp(r[1]).test(contextValue));
    });

  it('each new command is contributed and on the rows it belongs to', () => {
    const ids = manifest.contributes.commands.map((c) => c.command);
    for (const c of ['migrateToBestHost', 'evacuateHost', 'bringBackAll', 'allowAutomaticMoves', 'disallowAutomaticMoves', 'protect', 'stopProtecting']) {
      assert.ok(ids.includes(`processMigrator.${c}`), c);
    }
    const row = (c: string, v: string) => offered(`processMigrator.${c}`, v);
    assert.ok(row('migrateToBestHost', 'process') && row('migrateToBestHost', 'process-migrated-auto'));
    assert.ok(row('allowAutomaticMoves', 'process') && row('allowAutomaticMoves', 'process-migrated-protected'));
    assert.ok(!row('allowAutomaticMoves', 'process-auto') && row('disallowAutomaticMoves', 'process-auto-protected'));
    assert.ok(!row('disallowAutomaticMoves', 'process'));
    assert.ok(row('protect', 'process-migrated-auto') && !row('protect', 'process-protected'));
    assert.ok(row('stopProtecting', 'process-auto-protected') && !row('stopProtecting', 'process'));
    assert.ok(row('bringBack', 'process-migrated-auto') && !row('bringBack', 'process-auto'));
    assert.ok(row('evacuateHost', 'host') && !row('evacuateHost', 'host-unreachable') && !row('evacuateHost', 'process'));
    assert.ok(row('bringBackAll', 'host'));
    // Row-only commands are hidden from the palette; the palette keeps Best Host, Evacuate and Bring Back All.
    const hidden = manifest.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command);
    assert.ok(hidden.includes('processMigrator.protect') && !hidden.includes('processMigrator.evacuateHost') && !hidden.includes('processMigrator.migrateToBestHost'));
  });
});
