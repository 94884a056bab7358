// The migration report's HTML: phases as an SVG bar chart, the numbers, the chosen strategy and CRIU
// options with their reasons, and the workspace's history. Host-free and pure, so it is testable.
import type { MigrationResult, PhaseName } from '../../migration/api';
import { PHASES, phaseInfo } from '../../migration/phases';
import type { HistoryEntry } from './history';
import { formatBytes } from '../../common/format';
import { formatMs } from '../common/processForest';

export interface ReportPage {
  /** The entry shown in detail; undefined shows an empty state. */
  selected?: HistoryEntry;
  /** The entries moved in the same request as `selected` (itself included), when more than one. */
  batch?: readonly HistoryEntry[];
  history: readonly HistoryEntry[];
  nonce: string;
  /** `webview.cspSource`. */
  cspSource: string;
  styleUri: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function phaseRows(result: MigrationResult): { phase: PhaseName; ms: number }[] {
  const known = PHASES.filter((p) => typeof result.phases[p] === 'number').map((phase) => ({ phase, ms: result.phases[phase] as number }));
  const extra = (Object.keys(result.phases) as PhaseName[])
    .filter((p) => !PHASES.includes(p))
    .map((phase) => ({ phase, ms: result.phases[phase] as number }));
  return [...known, ...extra];
}

/** Horizontal bars, one per phase, scaled to the longest phase. */
export function phaseChartSvg(result: MigrationResult): string {
  const rows = phaseRows(result);
  if (rows.length === 0) return '<p class="muted">The engine reported no phase timings.</p>';
  const labelWidth = 90;
  const barArea = 380;
  const valueWidth = 80;
  const rowHeight = 26;
  const width = labelWidth + barArea + valueWidth;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(1, ...rows.map((r) => r.ms));
  const bars = rows
    .map((row, i) => {
      const y = 4 + i * rowHeight;
      const w = Math.max(2, Math.round((row.ms / max) * barArea));
      const frozen = phaseInfo(row.phase)?.frozen === true;
      return [
        `<g class="phase phase-${escapeHtml(row.phase)}${frozen ? ' frozen' : ''}" data-phase="${escapeHtml(row.phase)}">`,
        `<title>${escapeHtml(row.phase)}: ${escapeHtml(formatMs(row.ms))}${frozen ? ' (process frozen)' : ''}</title>`,
        `<text class="label" x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeHtml(row.phase)}</text>`,
        `<rect class="bar" x="${labelWidth}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" rx="3"></rect>`,
        `<text class="value" x="${labelWidth + w + 6}" y="${y + 17}">${escapeHtml(formatMs(row.ms))}</text>`,
        `</g>`,
      ].join('');
    })
    .join('\n');
  return (
    `<svg class="chart" role="img" aria-label="Time per migration phase" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">\n${bars}\n</svg>`
  );
}

function summary(entry: HistoryEntry): string {
  const r = entry.result;
  const what = `${escapeHtml(entry.name ?? 'process')} (PID ${r.sourcePid})`;
  if (entry.left) {
    return `<p class="status left"><span class="badge left">Left</span> ${what} stays on <b>${escapeHtml(r.from)}</b> (never frozen): ${escapeHtml(r.error ?? 'no reason given')}</p>`;
  }
  if (r.ok) {
    return `<p class="status ok"><span class="badge ok">Migrated</span> ${what} from <b>${escapeHtml(r.from)}</b> to <b>${escapeHtml(r.to)}</b>` +
      (r.destinationPid !== undefined ? `, now PID ${r.destinationPid}` : '') + '.</p>';
  }
  return (
    `<p class="status failed"><span class="badge failed">Failed</span> ${what} from <b>${escapeHtml(r.from)}</b> to <b>${escapeHtml(r.to)}</b>: ` +
    `${escapeHtml(r.error ?? 'no reason given')}` +
    (r.rolledBack ? ' The source kept running and the destination was cleaned.' : '') +
    '</p>'
  );
}

/** What ran and why; "auto" when the engine chose. */
export function strategyText(entry: HistoryEntry): string {
  const r = entry.result;
  const requested = entry.requestedStrategy ?? 'auto';
  if (requested === 'auto') return `${r.strategy} — chosen automatically: ${r.strategyReason}`;
  return `${r.strategy} — ${r.strategyReason === 'requested' ? `${requested} was requested` : r.strategyReason}`;
}

/** Listening ports and their forwards, and the established connections the move closed. */
function network(entry: HistoryEntry): string {
  const r = entry.result;
  const ports = r.listeningPorts ?? [];
  const closed = r.closedConnections ?? [];
  if (!r.ok || (ports.length === 0 && closed.length === 0)) return '';
  const origin = r.from === 'local' ? 'localhost' : `${r.from} localhost`;
  const portRows = ports
    .map((port) => {
      const record = entry.forwards?.find((f) => f.port === port);
      const state = !record
        ? 'not forwarded (processMigrator.forwardPorts is off)'
        : record.error
          ? `not forwarded: ${record.error}`
          : `forwarded: ${origin}:${port} → ${r.to}:${port}`;
      return `<tr data-port="${port}"><td>${port}</td><td>${escapeHtml(state)}</td></tr>`;
    })
    .join('');
  const parts: string[] = [];
  if (ports.length) {
    parts.push(`<table class="ports"><thead><tr><th>Listening port</th><th>From ${escapeHtml(r.from)}</th></tr></thead><tbody>${portRows}</tbody></table>`);
  }
  if (closed.length) {
    parts.push(
      `<p>Established connections closed by the move (the process saw a reset and may reconnect):</p><ul class="closed">` +
        closed.map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join('') +
        '</ul>',
    );
  }
  return `<section><h2>Network</h2>${parts.join('')}</section>`;
}

function batchTable(batch: readonly HistoryEntry[], selectedId: string): string {
  const rows = batch
    .map((e) => {
      const r = e.result;
      const name = `${e.name ?? 'process'} (PID ${r.sourcePid})`;
      const cell = e.id === selectedId ? `<b>${escapeHtml(name)}</b>` : `<a href="#" data-entry="${escapeHtml(e.id)}">${escapeHtml(name)}</a>`;
      const outcome = e.left
        ? `left on ${r.from}: ${r.error ?? 'no reason given'}`
        : r.ok
          ? `now PID ${r.destinationPid ?? '?'} on ${r.to}`
          : `failed: ${r.error ?? 'no reason given'}`;
      const strategy = e.left ? '—' : r.strategy;
      const frozen = e.left ? '—' : formatMs(r.freezeMs);
      return `<tr${e.left ? ' class="left"' : ''}><td>${cell}</td><td>${escapeHtml(strategy)}</td><td>${escapeHtml(frozen)}</td><td>${escapeHtml(outcome)}</td></tr>`;
    })
    .join('');
  return (
    `<section><h2>${escapeHtml(batchTitle(batch))}</h2><table class="batch"><thead><tr><th>Process</th><th>Strategy</th>` +
    `<th>Frozen</th><th>Result</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

/** `Evacuation of lab-a: 2 moved, 1 left`, or `Moved together (3 processes)`. */
export function batchTitle(batch: readonly HistoryEntry[]): string {
  const label = batch[0]?.batchLabel;
  if (!label) return `Moved together (${batch.length} processes)`;
  const left = batch.filter((e) => e.left).length;
  const moved = batch.filter((e) => !e.left && e.result.ok).length;
  const failed = batch.length - moved - left;
  return `${label}: ${moved} moved${left ? `, ${left} left` : ''}${failed ? `, ${failed} failed` : ''}`;
}

function details(entry: HistoryEntry, batch: readonly HistoryEntry[] = []): string {
  const r = entry.result;
  const facts: [string, string][] = [
    ['Strategy', strategyText(entry)],
    ['Freeze time', formatMs(r.freezeMs)],
    ['Total time', formatMs(r.totalMs)],
    ['Data moved', formatBytes(r.bytes)],
    ...(r.transfer ? ([['Memory path', r.transfer]] as [string, string][]) : []),
    ...(r.trigger ? ([['Started by', r.trigger]] as [string, string][]) : []),
    ['Started', r.startedAt],
  ];
  const factRows = facts
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td data-fact="${escapeHtml(k)}">${escapeHtml(v)}</td></tr>`)
    .join('');
  const options = r.options.length
    ? `<table class="options"><thead><tr><th>CRIU option</th><th>Why</th></tr></thead><tbody>${r.options
        .map((o) => `<tr><td><code>${escapeHtml(o.option)}</code></td><td>${escapeHtml(o.reason)}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="muted">No CRIU options were recorded.</p>';
  if (entry.left) {
    // Never frozen: no phases, numbers or options to show.
    const by = r.trigger ? `<p>Started by ${escapeHtml(r.trigger)}.</p>` : '';
    return [summary(entry), batch.length > 1 ? batchTable(batch, entry.id) : '', by].filter(Boolean).join('\n');
  }
  return [
    summary(entry),
    batch.length > 1 ? batchTable(batch, entry.id) : '',
    `<section><h2>Phases</h2>${phaseChartSvg(r)}<p class="legend"><span class="swatch frozen"></span> process frozen</p></section>`,
    `<section><h2>Numbers</h2><table class="facts">${factRows}</table></section>`,
    rounds(r),
    network(entry),
    `<section><h2>CRIU options</h2>${options}</section>`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** Pre-copy's rounds while the process ran, then the frozen final dump, and why they stopped. */
function rounds(r: MigrationResult): string {
  if (!r.rounds?.length) return '';
  const rows = r.rounds
    .map((c) => `<tr${c.final ? ' class="frozen"' : ''}><td>${c.final ? 'final (frozen)' : `round ${c.round}`}</td><td>${escapeHtml(formatBytes(c.bytes))}</td><td>${escapeHtml(formatMs(c.ms))}</td></tr>`)
    .join('');
  const stopped = r.roundsStopped ? `<p>Stopped: ${escapeHtml(r.roundsStopped)}</p>` : '';
  return `<section><h2>Pre-copy rounds</h2><table class="rounds"><thead><tr><th>Round</th><th>Memory</th><th>Time</th></tr></thead><tbody>${rows}</tbody></table>${stopped}</section>`;
}

function historyTable(history: readonly HistoryEntry[], selectedId: string | undefined): string {
  if (history.length === 0) return '<p class="muted">No migrations in this workspace yet.</p>';
  const rows = history
    .map((e) => {
      const r = e.result;
      const cls = e.id === selectedId ? ' class="selected"' : '';
      return (
        `<tr${cls}><td><a href="#" data-entry="${escapeHtml(e.id)}">${escapeHtml(new Date(r.startedAt).toLocaleString())}</a></td>` +
        `<td>${escapeHtml(e.name ?? '')} ${r.sourcePid}</td><td>${escapeHtml(r.from)} → ${escapeHtml(r.to)}</td>` +
        `<td>${escapeHtml(e.left ? '—' : r.strategy)}</td><td>${e.left ? 'left' : r.ok ? 'ok' : 'failed'}${r.trigger ? ` (${escapeHtml(r.trigger)})` : ''}</td><td>${escapeHtml(formatMs(r.freezeMs))}</td>` +
        `<td>${escapeHtml(formatBytes(r.bytes))}</td></tr>`
      );
    })
    .join('');
  return (
    `<table class="history"><thead><tr><th>When</th><th>Process</th><th>Route</th><th>Strategy</th><th>Result</th>` +
    `<th>Frozen</th><th>Data</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

export function renderReportHtml(page: ReportPage): string {
  const { nonce, cspSource } = page;
  const csp = [
    `default-src 'none'`,
    `img-src ${cspSource}`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const body = page.selected ? details(page.selected, page.batch) : '<p class="muted">No migration to show yet. Migrate a process first.</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(page.styleUri)}">
<title>Migration Report</title>
</head>
<body>
<h1>Migration Report</h1>
<main id="report">
${body}
</main>
<section><h2>History</h2>${historyTable(page.history, page.selected?.id)}</section>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-entry]');
    if (!link) return;
    event.preventDefault();
    vscode.postMessage({ type: 'show', id: link.dataset.entry });
  });
  vscode.postMessage({ type: 'ready' });
</script>
</body>
</html>`;
}
