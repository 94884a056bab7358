// The UI's host-free modules, outside VS Code: none of them loads 'vscode' (importing one that did
// would fail here, where there is no vscode module).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MigrationResult, ProcessInfo } from '../../src/migration/api';
import { expandHome, fullSettingKey, readSetting, SETTING_DEFAULTS } from '../../src/ui/common/contributions';
import { formatBytes, formatKiB } from '../../src/common/format';
import { buildProcessForest, describeProcess, findProcess, formatMs, isFilterActive } from '../../src/ui/common/processForest';
import { describeForward, forwardedPortsText, forwardId, forwardNotice } from '../../src/ui/forwards/portForwards';
import { MigrationHistory, HISTORY_LIMIT, type MementoLike } from '../../src/ui/report/history';
import { escapeHtml, phaseRows, renderReportHtml, strategyText } from '../../src/ui/report/reportHtml';
import { hostOf, processRefOf, selectedRefs, type ProcessTreeNode } from '../../src/ui/view/processRefs';

function proc(pid: number, ppid: number, uid: number, name: string, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, ppid, uid, user: uid === 0 ? 'root' : `u${uid}`, cpu: 1.5, rssKiB: 12 * 1024, name, command: `/usr/bin/${name}`, state: 'S', ...extra };
}

function result(extra: Partial<MigrationResult> = {}): MigrationResult {
  return {
    ok: true, from: 'local', to: 'lab-b', sourcePid: 42, destinationPid: 4242, strategy: 'stop-and-copy', strategyReason: 'small', phases: { dump: 300, preflight: 100, restore: 200 },
    freezeMs: 500, totalMs: 700, bytes: 3 << 20, options: [], startedAt: '2026-01-01T00:00:00.000Z', ...extra,
  };
}

describe('ui: process rows and command arguments (view/processRefs)', () => {
  const host = { kind: 'host' as const, host: 'lab-a' };
  const row: ProcessTreeNode = { kind: 'process', host: 'lab-a', node: { info: proc(7, 1, 1000, 'app'), mine: true, children: [] }, parent: host };

  it('a row, a {host, pid} or nothing', () => {
    assert.deepEqual(processRefOf(row), { host: 'lab-a', pid: 7 });
    assert.deepEqual(processRefOf({ host: 'lab-b', pid: 9 }), { host: 'lab-b', pid: 9 });
    assert.equal(processRefOf(host), undefined);
    assert.equal(processRefOf(undefined), undefined);
  });

  it('a multi-selection wins over the clicked row; an array of refs is taken whole', () => {
    const other = { host: 'lab-a', pid: 8 };
    assert.deepEqual(selectedRefs(row, [row, other]), [{ host: 'lab-a', pid: 7 }, other]);
    assert.deepEqual(selectedRefs(row, [row]), [{ host: 'lab-a', pid: 7 }]);
    assert.deepEqual(selectedRefs([other, 'junk']), [other]);
  });

  it('the host of a host row, a process row or a name', () => {
    assert.equal(hostOf('lab-b'), 'lab-b');
    assert.equal(hostOf(host), 'lab-a');
    assert.equal(hostOf(row), 'lab-a');
    assert.equal(hostOf(42), undefined);
  });
});

describe('ui: the process forest (common/processForest)', () => {
  const list = [proc(1, 0, 0, 'init'), proc(2, 0, 0, 'kthreadd'), proc(10, 1, 0, 'sshd'), proc(11, 10, 1000, 'bash'), proc(12, 11, 1000, 'node'), proc(13, 2, 0, 'kworker')];

  it("a user's tree starts at the top, their own first", () => {
    const forest = buildProcessForest(list, 1000);
    assert.deepEqual(forest.map((n) => n.info.pid), [11, 1, 2]);
    assert.deepEqual(findProcess(forest, 12)?.info.name, 'node');
    assert.deepEqual(findProcess(forest, 13)?.info.name, 'kworker');
  });

  it('filters: text lists matches flat; only mine; system hidden', () => {
    assert.deepEqual(buildProcessForest(list, 1000, { text: 'node', onlyMine: false, hideSystem: false }).map((n) => n.info.pid), [12]);
    assert.deepEqual(buildProcessForest(list, 1000, { text: '', onlyMine: true, hideSystem: false }).map((n) => n.info.pid), [11]);
    assert.deepEqual(buildProcessForest(list, 1000, { text: '', onlyMine: false, hideSystem: true }).map((n) => n.info.pid), [11]);
    assert.equal(isFilterActive({ text: ' ', onlyMine: false, hideSystem: false }), false);
  });

  it('formats sizes and times', () => {
    assert.equal(formatKiB(512), '512.0 KiB');
    assert.equal(formatKiB(1536), '1.5 MiB');
    assert.equal(formatKiB(20 * 1024 * 1024), '20.0 GiB');
    assert.equal(formatBytes(100), '100 B');
    assert.equal(formatMs(250), '250 ms');
    assert.equal(formatMs(1234), '1.23 s');
    assert.equal(describeProcess(proc(5, 1, 0, 'x')), 'PID 5 · 1.5% · 12.0 MiB');
  });
});

describe('ui: settings (common/contributions)', () => {
  it('a missing or null setting reads as its default', () => {
    const config = { get: <T>(key: string) => ({ forwardPorts: false, hosts: null })[key] as T | undefined };
    assert.equal(readSetting(config, 'forwardPorts'), false);
    assert.deepEqual(readSetting(config, 'hosts'), SETTING_DEFAULTS.hosts);
    assert.equal(fullSettingKey('hosts'), 'processMigrator.hosts');
  });

  it('expands ~ and ${env:NAME}', () => {
    assert.equal(expandHome('~/.ssh/config', '/home/u'), '/home/u/.ssh/config');
    assert.equal(expandHome('~', '/home/u'), '/home/u');
    process.env.PM_UI_TEST_DIR = '/srv';
    assert.equal(expandHome('${env:PM_UI_TEST_DIR}/x', '/home/u'), '/srv/x');
  });
});

describe('ui: forwarded ports texts (forwards/portForwards)', () => {
  it('describes a forward and its notice', () => {
    assert.equal(describeForward({ origin: 'local', destination: 'lab-b', port: 3000, pid: 1 }), 'localhost:3000 → lab-b:3000');
    assert.equal(describeForward({ origin: 'lab-a', destination: 'lab-b', port: 80, pid: 1 }), 'lab-a localhost:80 → lab-b:80');
    assert.notEqual(forwardId({ origin: 'local', port: 1 }), forwardId({ origin: 'lab-a', port: 1 }));
    assert.equal(forwardedPortsText([]), undefined);
    assert.equal(forwardedPortsText([{ origin: 'local', destination: 'b', port: 1, pid: 1 }, { origin: 'local', destination: 'b', port: 2, pid: 1 }]), 'localhost:1, :2 forwarded');
    assert.equal(forwardNotice(result(), [{ port: 3000 }, { port: 22, error: 'in use.' }]), ' Forwarding localhost:3000 to it. Port 22 is not forwarded: in use.');
    assert.equal(forwardNotice(result(), undefined), '');
  });
});

describe('ui: history and report (report/history, report/reportHtml)', () => {
  function memento(): MementoLike {
    const store = new Map<string, unknown>();
    return { get: <T>(k: string) => store.get(k) as T | undefined, update: async (k, v) => void store.set(k, v) };
  }

  it('keeps the latest entries first, and knows where a process arrived', async () => {
    const history = new MigrationHistory(memento());
    let changes = 0;
    history.onDidChange(() => changes++);
    for (let i = 0; i < HISTORY_LIMIT + 2; i++) await history.add(result({ sourcePid: i, destinationPid: 1000 + i }), 'app');
    assert.equal(history.entries().length, HISTORY_LIMIT);
    assert.equal(history.latest()?.result.sourcePid, HISTORY_LIMIT + 1);
    assert.equal(history.arrivedAt('lab-b', 1000 + HISTORY_LIMIT + 1)?.name, 'app');
    assert.equal(changes, HISTORY_LIMIT + 2);
  });

  it('orders phases, says why the strategy ran, escapes what it shows', async () => {
    assert.deepEqual(phaseRows(result()).map((r) => r.phase), ['preflight', 'dump', 'restore']);
    const history = new MigrationHistory(memento());
    const entry = await history.add(result({ ok: false, error: 'CRIU said <no> & "stop"' }), '<script>');
    assert.equal(strategyText(entry), 'stop-and-copy — chosen automatically: small');
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const html = renderReportHtml({ selected: entry, history: history.entries(), nonce: 'n0nce', cspSource: 'vscode-resource:', styleUri: 'style.css' });
    assert.match(html, /script-src 'nonce-n0nce'/);
    assert.ok(html.includes('&lt;script&gt;'));
    assert.ok(html.includes('CRIU said &lt;no&gt; &amp; &quot;stop&quot;'));
  });
});
