// Sizes for people, written once for the CLI, the report, the view and the engine's sentences:
// binary units with one decimal from KiB up (`67.7 MiB`), whole bytes below (`512 B`).

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

/** The same for sizes counted in KiB (`ps` rss, /proc/meminfo, `df -k`). */
export function formatKiB(kib: number): string {
  return formatBytes(kib * 1024);
}
