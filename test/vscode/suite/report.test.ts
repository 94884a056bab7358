import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { Commands } from '../../../src/ui/common/contributions';
import { renderReportHtml } from '../../../src/ui/report/reportHtml';
import { result } from './fakeEngine';
import { activeApi, until } from './helpers';

describe('Migration report', () => {
  it('renders phases as SVG bars, numbers, options and a CSP with the nonce', () => {
    const r = { ...result({ pid: 42, from: 'lab-a', to: 'lab-b' }), transfer: 'memory direct lab-a → lab-b over OpenSSH' };
    const html = renderReportHtml({
      selected: { id: 'x', name: '<script>', result: r },
      history: [{ id: 'x', name: '<script>', result: r }],
      nonce: 'N0NCE',
      cspSource: 'https://csp.example',
      styleUri: 'https://csp.example/report.css',
    });
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';[^"]*script-src 'nonce-N0NCE'/);
    assert.match(html, /<script nonce="N0NCE">/);
    assert.equal((html.match(/<rect class="bar"/g) ?? []).length, 8);
    assert.match(html, /--tcp-established/);
    assert.match(html, /48\.0 MiB/);
    assert.match(html, /1\.40 s/);
    assert.match(html, /data-fact="Memory path">memory direct lab-a → lab-b over OpenSSH</);
    assert.ok(!html.includes('<script>'), 'names are escaped');
  });

  it('Show Migration Report opens one webview panel with the latest migration', async () => {
    const api = await activeApi();
    await api.history.add(result({ pid: 4242, from: 'lab-a', to: 'lab-b' }), 'report-test');
    await vscode.commands.executeCommand(Commands.ShowReport);
    await vscode.commands.executeCommand(Commands.ShowReport);
    const tabs = await until('the report tab', () => {
      const found = vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('processMigrator.report'));
      return found.length ? found : undefined;
    });
    assert.equal(tabs.length, 1);
    assert.match(tabs[0].label, /report-test/);
    await vscode.window.tabGroups.close(tabs);
  });
});
