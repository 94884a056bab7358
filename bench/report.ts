// Turns the raw samples into statistics, a Markdown table and a hand-written SVG chart.

export interface SampleRecord {
  rep: number;
  ok: boolean;
  /** Absent for the raw SSH reference, which freezes nothing. */
  freezeMs?: number;
  totalMs?: number;
  bytes?: number;
  phases?: Record<string, number>;
  strategy?: string;
  strategyReason?: string;
  perProcess?: { pid: number; freezeMs: number; strategy?: string }[];
  wallMs?: number;
  /** How the move was checked: memory checksum on lab-b, or only that it runs there. */
  verified?: 'checksum' | 'running';
  /** What went wrong (verification problems, or the error of the last attempt). */
  problems?: string[];
  /** Errors of attempts that were retried with fresh processes. */
  retried?: string[];
  cli?: unknown;
}

export interface MethodResult {
  method: string;
  kind: 'migration' | 'reference';
  available: boolean;
  note?: string;
  samples: SampleRecord[];
}

export interface Cell {
  id: string;
  label: string;
  mib: number;
  count: number;
  methods: MethodResult[];
  /** The run that measured this cell, when it was kept from an interrupted run (--resume). */
  measuredIn?: string;
}

export interface Stat {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

export interface Summary {
  method: string;
  label: string;
  kind: MethodResult['kind'];
  available: boolean;
  note?: string;
  freeze?: Stat;
  total?: Stat;
  bytes?: Stat;
  phases: Record<string, number>;
  freezeRatio?: number;
  totalRatio?: number;
  ok: number;
  failed: number;
}

export function summarize(cell: Cell): Summary[] {
  const rows = cell.methods.map((m): Summary => {
    const good = m.samples.filter((s) => s.ok);
    const phaseNames = [...new Set(good.flatMap((s) => Object.keys(s.phases ?? {})))];
    const phases: Record<string, number> = {};
    for (const p of phaseNames) phases[p] = stat(good.map((s) => s.phases?.[p] ?? NaN))?.median ?? NaN;
    const used = [...new Set(good.map((s) => s.strategy).filter(Boolean))];
    // The rows that let procmig choose say what it chose.
    const label = ['auto', 'warm', 'vscode'].includes(m.method) && used.length ? `${m.method} → ${used.join(' / ')}` : m.method;
    return {
      method: m.method,
      label,
      kind: m.kind,
      available: m.available,
      note: m.note,
      freeze: stat(good.map((s) => s.freezeMs ?? NaN)),
      total: stat(good.map((s) => s.totalMs ?? NaN)),
      bytes: stat(good.map((s) => s.bytes ?? NaN)),
      phases,
      ok: good.length,
      failed: m.samples.length - good.length,
    };
  });
  const base = rows.find((r) => r.method === 'baseline');
  for (const r of rows) {
    if (base?.freeze && r.freeze) r.freezeRatio = r.freeze.median / base.freeze.median;
    if (base?.total && r.total) r.totalRatio = r.total.median / base.total.median;
  }
  return rows;
}

const s = (ms: number) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));
const range = (x?: Stat) => (x ? `${s(x.min)} / **${s(x.median)}** / ${s(x.max)}` : '—');
const ratio = (x?: number) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
const mib = (bytes: number) => bytes / (1 << 20);

export function markdownTable(cells: Cell[]): string {
  const lines = [
    '| Workload | Method | Freeze s (min / **median** / max) | Freeze vs baseline | Total s (min / **median** / max) | Total vs baseline | Moved | Runs |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const cell of cells) {
    for (const r of summarize(cell)) {
      let moved = r.bytes ? `${mib(r.bytes.median).toFixed(0)} MiB` : '—';
      if (r.kind === 'reference' && r.bytes && r.total) moved += ` @ ${Math.round(mib(r.bytes.median) / (r.total.median / 1000))} MiB/s`;
      const runs = !r.available ? 'skipped' : r.failed ? `${r.ok} ok, ${r.failed} failed` : `${r.ok}`;
      lines.push(`| ${cell.label} | ${r.label} | ${range(r.freeze)} | ${ratio(r.freezeRatio)} | ${range(r.total)} | ${ratio(r.totalRatio)} | ${moved} | ${runs} |`);
    }
  }
  return lines.join('\n');
}

export function phaseTable(cells: Cell[]): string {
  const lines = ['| Workload | Method | Median phases, s |', '|---|---|---|'];
  for (const cell of cells) {
    for (const r of summarize(cell)) {
      if (r.kind !== 'migration' || !r.ok) continue;
      const parts = Object.entries(r.phases).map(([name, ms]) => `${name} ${s(ms)}`);
      lines.push(`| ${cell.label} | ${r.label} | ${parts.join(' · ')} |`);
    }
  }
  return lines.join('\n');
}

/** What the columns and each row of the table are, for under it (a Markdown list). */
export function legend(): string {
  const items = [
    '*Freeze*: from the moment the process stops on lab-a until it runs on lab-b (for several processes: the longest). ' +
      '*Total*: the whole migration including setup and cleanup (post-copy and lazy-pages: until the last page arrived).',
    '*baseline*: `criu dump --leave-stopped`, `scp -r` lab-a → lab-b, `criu restore -d`, one `ssh` per step from the root namespace, one process after the other.',
    "*lazy-pages*: CRIU's own post-copy by hand (criu.org/Lazy_migration), one `ssh` per step over one connection per host kept open (ControlMaster, opened in the setup): `criu dump --lazy-pages --address --port` on lab-a, left serving the pages once its `--status-fd` says the images are written; " +
      '`scp -r` of the images (all but the memory) lab-a → lab-b; `criu lazy-pages --page-server --address --port` on lab-b, likewise left running; `criu restore --lazy-pages -d` there. ' +
      'Its freeze ends when the restore returns (three `ssh` steps on kept connections and one `scp` host to host inside it), its total once the lazy-pages daemon pulled the last page and exited (and the dump, done serving, ended the original). ' +
      'Moved: the images and the anonymous memory resident on lab-b then. One-process workloads only.',
    '*stop-and-copy*, *post-copy*, *auto*: `procmig migrate … --strategy S --json`, a new `procmig` for every migration (cold: it connects to both hosts and checks its helper first).',
    "*warm*: the engine of the same build (`createEngine`), kept in the bench's process for the whole run with its connections and helpers up, as in VS Code once its tree lists the hosts; " +
      'each measured migration is a second or later one in that engine (one unmeasured migration first). Strategy auto; batches through `migrateMany`; up to 512 MiB per process (above that the transfer drowns what it saves). Compare with *auto*, the same call in a new `procmig`.',
    "*vscode*: the engine call the extension makes for Migrate Process… (`runMigration` → `engine.migrate`, src/ui/migrate/migrate.ts): the extension's `ReconfigurableEngine` with its engine options (a log), " +
      "the destination picker's host check before each move, with the image directories and page tunnel it readies for the highlighted host (`prepareRoute`, the user picking at once) and the tree's listing of both hosts after it, and the extension's migrate options (progress, cancel signal, tracer question); kept for the run like *warm*. " +
      "The notification, history and view refresh around that call need a real VS Code (src/ui imports `vscode`) and are not measured. One process of up to 64 MiB (`--count-size`): above that its call is *warm*'s.",
    '*ssh* rows: the same bytes through plain SSH (`head -c N /dev/zero | ssh … cat`), via the root namespace and host to host. ' +
      '*into memory*: host to host into a process on lab-b that keeps them in its memory until the last one came, as a migrated process must; this VM backs its memory lazily, so each fresh page costs a fault in its host too.',
  ];
  return items.map((i) => `- ${i}`).join('\n');
}

/** The ratios the baseline column does not give: post-copy against CRIU's own lazy pages by
 * hand, the engine kept warm (and the extension's call) against a new `procmig`, and each
 * process of a batch against a lone one of the same size and method. */
export function comparisons(cells: Cell[]): string[] {
  const out: string[] = [];
  const vs = (a?: Stat, b?: Stat) => (a && b ? `${s(a.median)} s = ${(a.median / b.median).toFixed(2)}× ${s(b.median)} s` : undefined);
  for (const cell of cells) {
    const lone = cell.count > 1 ? cells.find((c) => c.count === 1 && c.mib === cell.mib) : undefined;
    if (lone) out.push(...batchFreezes(cell, lone));
    const rows = new Map(summarize(cell).filter((r) => r.ok).map((r) => [r.method, r]));
    const lazy = rows.get('lazy-pages');
    const post = rows.get('post-copy');
    if (lazy && post) out.push(`${cell.label}: post-copy against lazy-pages by hand: freeze ${vs(post.freeze, lazy.freeze)}; total ${vs(post.total, lazy.total)}`);
    const cold = rows.get('auto');
    // A new procmig's total is what its engine measured; starting the process comes on top.
    const wall = stat(cell.methods.find((m) => m.method === 'auto')?.samples.filter((x) => x.ok).map((x) => x.wallMs ?? NaN) ?? []);
    for (const name of ['warm', 'vscode']) {
      const warm = rows.get(name);
      if (warm && cold) {
        out.push(
          `${cell.label}: ${warm.label} against a new \`procmig\` (${cold.label}): total ${vs(warm.total, cold.total)}` +
            `${wall ? ` (its whole call, process start included: ${s(wall.median)} s)` : ''}; freeze ${vs(warm.freeze, cold.freeze)}`,
        );
      }
    }
  }
  return out;
}

/** Each process's own freeze in a batch (median and longest of every process of every run)
 * against a lone process's median freeze, per method. */
function batchFreezes(cell: Cell, lone: Cell): string[] {
  const loneFreeze = new Map(summarize(lone).map((r) => [r.method, r.freeze]));
  // summarize() keeps the order of cell.methods.
  return summarize(cell).flatMap((row, i) => {
    const alone = loneFreeze.get(row.method);
    const each = stat(cell.methods[i].samples.filter((x) => x.ok).flatMap((x) => (x.perProcess ?? []).map((p) => p.freezeMs)));
    if (row.method === 'baseline' || !alone || !each) return [];
    const times = (ms: number) => `${s(ms)} s = ${(ms / alone.median).toFixed(2)}×`;
    return [`${cell.label}: ${row.label}, each process's freeze against a lone one's (${s(alone.median)} s): median ${times(each.median)}, longest ${times(each.max)}`];
  });
}

export function notes(cells: Cell[]): string[] {
  const out: string[] = [];
  for (const cell of cells) {
    for (const m of cell.methods) {
      if (!m.available) out.push(`${cell.label}, ${m.method}: skipped — ${m.note ?? 'unavailable'}`);
      else if (m.note) out.push(`${cell.label}, ${m.method}: ${m.note}`);
      for (const smp of m.samples) {
        if (!smp.ok) out.push(`${cell.label}, ${m.method}, run ${smp.rep + 1}: failed — ${(smp.problems ?? []).join('; ')}`);
        if (smp.retried?.length) out.push(`${cell.label}, ${m.method}, run ${smp.rep + 1}: retried with fresh processes after: ${smp.retried.join('; ')}`);
      }
    }
  }
  return out;
}

// --- SVG ---------------------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  baseline: '#6b7280',
  'stop-and-copy': '#2563eb',
  'post-copy': '#059669',
  auto: '#d97706',
  'lazy-pages': '#a8a29e',
  warm: '#7c3aed',
  vscode: '#db2777',
};
const colorOf = (method: string) => COLORS[method] ?? '#7c3aed';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceMax(v: number): { max: number; step: number } {
  if (!(v > 0)) return { max: 1, step: 0.25 };
  const rough = v / 4;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((st) => st >= rough)!;
  return { max: Math.ceil(v / step) * step, step };
}

const fmtAxis = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1).replace(/0$/, ''));
const fmtBar = (sec: number) => (sec >= 10 ? sec.toFixed(1) : sec.toFixed(2));

/**
 * Small multiples: one panel per workload, each with its own seconds axis (2 GiB takes ~30× as
 * long as 64 MiB); in each panel one pair of bars per method, median freeze (solid) and median
 * total (light). A dashed line marks raw SSH lab-a → lab-b for the same bytes.
 */
export function svgChart(cells: Cell[], title: string, subtitle: string): string {
  const methods = [...new Set(cells.flatMap((c) => summarize(c).filter((r) => r.kind === 'migration' && r.ok).map((r) => r.method)))];
  const barW = 16;
  const innerGap = 3;
  const groupGap = 16;
  const groupW = 2 * barW + innerGap;
  const plotW = Math.max(methods.length, 1) * (groupW + groupGap) + groupGap;
  const axisW = 40;
  const panelW = axisW + plotW + 12;
  const plotH = 170;
  const panelH = plotH + 70;
  const cols = Math.min(cells.length, 3);
  const rows = Math.ceil(cells.length / cols);
  const top = 100;
  const width = Math.max(cols * panelW + 20, 640);
  const height = top + rows * panelH + 16;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="14" y="24" font-size="15" font-weight="600" fill="#111827">${esc(title)}</text>`);
  out.push(`<text x="14" y="42" font-size="11" fill="#4b5563">${esc(subtitle)}</text>`);
  // Legend: methods on one line, how to read the marks on the next.
  let lx = 14;
  let ly = 64;
  for (const m of methods) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colorOf(m)}"/>`);
    out.push(`<text x="${lx + 14}" y="${ly}" font-size="11" fill="#111827">${esc(m)}</text>`);
    lx += 28 + m.length * 6.3;
  }
  lx = 14;
  ly = 82;
  out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="#6b7280"/><rect x="${lx + 12}" y="${ly - 9}" width="10" height="10" fill="#6b7280" fill-opacity="0.35" stroke="#6b7280"/>`);
  out.push(`<text x="${lx + 27}" y="${ly}" font-size="11" fill="#111827">solid: median freeze · light: median total</text>`);
  lx += 280;
  out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${lx + 27}" y="${ly}" font-size="11" fill="#111827">raw ssh lab-a → lab-b, same bytes</text>`);

  cells.forEach((cell, i) => {
    const px = 10 + (i % cols) * panelW;
    const py = top + Math.floor(i / cols) * panelH;
    const rowsOf = summarize(cell);
    const byMethod = new Map(rowsOf.map((r) => [r.method, r]));
    const ref = byMethod.get('ssh host→host')?.total?.median;
    const peak = Math.max(...rowsOf.filter((r) => r.kind === 'migration').map((r) => r.total?.median ?? 0), ref ?? 0) / 1000;
    const { max, step } = niceMax(peak);
    const y = (sec: number) => py + 22 + plotH - (sec / max) * plotH;
    const x0 = px + axisW;
    out.push(`<g>`);
    out.push(`<text x="${x0 + plotW / 2}" y="${py + 12}" font-size="12" font-weight="600" text-anchor="middle" fill="#111827">${esc(cell.label)}</text>`);
    for (let v = 0; v <= max + 1e-9; v += step) {
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${x0}" y1="${yy}" x2="${x0 + plotW}" y2="${yy}" stroke="${v === 0 ? '#9ca3af' : '#e5e7eb'}" stroke-width="1"/>`);
      out.push(`<text x="${x0 - 5}" y="${(y(v) + 3.5).toFixed(1)}" font-size="10" text-anchor="end" fill="#6b7280">${fmtAxis(v)}</text>`);
    }
    out.push(`<text x="${px + 9}" y="${py + 22 + plotH / 2}" font-size="10" fill="#6b7280" text-anchor="middle" transform="rotate(-90 ${px + 9} ${py + 22 + plotH / 2})">seconds</text>`);
    methods.forEach((m, j) => {
      const r = byMethod.get(m);
      const gx = x0 + groupGap + j * (groupW + groupGap);
      const c = colorOf(m);
      const bars: [number | undefined, boolean][] = [
        [r?.freeze?.median, true],
        [r?.total?.median, false],
      ];
      bars.forEach(([ms, solid], k) => {
        const bx = gx + k * (barW + innerGap);
        if (ms === undefined || !r?.ok) {
          out.push(`<text x="${bx + barW / 2}" y="${y(0) - 4}" font-size="9" text-anchor="middle" fill="#9ca3af">n/a</text>`);
          return;
        }
        const sec = ms / 1000;
        const by = y(sec);
        const h = Math.max(y(0) - by, 0.5);
        out.push(
          `<rect x="${bx}" y="${by.toFixed(1)}" width="${barW}" height="${h.toFixed(1)}" fill="${c}"${solid ? '' : ` fill-opacity="0.35" stroke="${c}" stroke-width="1"`}><title>${esc(`${cell.label} · ${r.label} · median ${solid ? 'freeze' : 'total'} ${fmtBar(sec)} s`)}</title></rect>`,
        );
        out.push(`<text x="${bx + barW / 2}" y="${(by - 3).toFixed(1)}" font-size="8.5" text-anchor="middle" fill="#374151">${fmtBar(sec)}</text>`);
      });
      const label = m === 'stop-and-copy' ? 'stop&amp;copy' : esc(m);
      out.push(`<text x="${gx + groupW / 2}" y="${y(0) + 13}" font-size="9.5" text-anchor="middle" fill="#374151">${label}</text>`);
      if (m !== 'baseline' && r?.freezeRatio !== undefined && r.totalRatio !== undefined) {
        out.push(`<text x="${gx + groupW / 2}" y="${y(0) + 25}" font-size="9" text-anchor="middle" fill="#6b7280">f ${r.freezeRatio.toFixed(2)}×</text>`);
        out.push(`<text x="${gx + groupW / 2}" y="${y(0) + 36}" font-size="9" text-anchor="middle" fill="#6b7280">t ${r.totalRatio.toFixed(2)}×</text>`);
      }
    });
    if (ref !== undefined) {
      const yy = y(ref / 1000).toFixed(1);
      out.push(`<line x1="${x0}" y1="${yy}" x2="${x0 + plotW}" y2="${yy}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="4 3"><title>raw ssh lab-a → lab-b: ${fmtBar(ref / 1000)} s</title></line>`);
    }
    out.push(`</g>`);
  });
  out.push(`<text x="${width - 10}" y="${height - 4}" font-size="9" text-anchor="end" fill="#9ca3af">under each method: median freeze (f) and total (t) relative to baseline · npm run bench</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
