// Human-readable output of the CLI.
import type { EvacuationResult } from '../automatic/evacuate';
import { linksText } from '../automatic/placement';
import { describeProtectEvent, type ProtectEvent } from '../automatic/protect';
import type { WatchEvent } from '../automatic/watch';
import type { BatchResult, HostReport, HostState, MigrationResult, ProcessInfo, RunResult } from '../migration/api';
import { formatBytes, formatKiB } from '../common/format';
import { PHASES } from '../migration/phases';
import { commandLine } from '../migration/run';

export function formatProcessTree(processes: ProcessInfo[]): string {
  const byParent = new Map<number, ProcessInfo[]>();
  const pids = new Set(processes.map((p) => p.pid));
  for (const p of processes) {
    const parent = pids.has(p.ppid) ? p.ppid : 0;
    byParent.set(parent, [...(byParent.get(parent) ?? []), p]);
  }
  const lines = [`${'PID'.padStart(7)}  ${'USER'.padEnd(10)} ${'CPU%'.padStart(5)} ${'RSS'.padStart(8)}  COMMAND`];
  const walk = (parent: number, depth: number) => {
    for (const p of byParent.get(parent) ?? []) {
      const command = p.command || `[${p.name}]`;
      lines.push(`${String(p.pid).padStart(7)}  ${p.user.slice(0, 10).padEnd(10)} ${p.cpu.toFixed(1).padStart(5)} ${formatBytes(p.rssKiB * 1024).padStart(8)}  ${'  '.repeat(depth)}${command.slice(0, 120)}`);
      walk(p.pid, depth + 1);
    }
  };
  walk(0, 0);
  return `${lines.join('\n')}\n`;
}

export function formatHostReport(r: HostReport): string {
  const c = r.capabilities;
  const lines = [`${r.host}: ${r.reachable ? 'reachable' : 'unreachable'}`];
  if (c) {
    lines.push(
      `  hostname ${c.hostname}, ${c.arch}, kernel ${c.kernel}, ${c.cpus} CPUs, load ${c.load1}`,
      `  CRIU ${c.criuVersion ?? 'not installed'} (${c.privilege}), memory available ${formatBytes(c.memAvailableKiB * 1024)}, disk free ${formatBytes(c.diskAvailableKiB * 1024)} in ${c.imagesDir}`,
      `  features: ${Object.entries(c.features).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}; fs.pipe-max-size ${formatBytes(c.pipeMaxSize)}`,
    );
  }
  for (const p of r.problems) lines.push(`  problem: ${p}`);
  for (const n of r.notes ?? []) lines.push(`  note: ${n}`);
  return `${lines.join('\n')}\n`;
}

export function formatMigration(r: MigrationResult): string {
  const lines: string[] = [];
  if (r.ok) lines.push(`Moved process ${r.sourcePid} from ${r.from} to ${r.to}: it runs there as PID ${r.destinationPid}.`);
  else lines.push(`Migration failed: ${r.error}`, r.rolledBack ? `The process keeps running on ${r.from}.` : '');
  if (r.ok && r.terminal) lines.push(`Its terminal: ${attachCommand(r.terminal)}`);
  if (r.ok && r.listeningPorts?.length) lines.push(`Listening on TCP port${r.listeningPorts.length > 1 ? 's' : ''} ${r.listeningPorts.join(', ')} on ${r.to}'s loopback.`);
  if (r.ok && r.closedConnections?.length) lines.push(`Closed TCP connections: ${r.closedConnections.join(', ')}.`);
  if (r.placement) {
    lines.push('Placement:');
    for (const c of r.placement.candidates) lines.push(`  ${c.host === r.placement.host ? 'chosen' : 'passed'}  ${c.reason}`);
  }
  lines.push(`Strategy: ${r.strategy}${r.strategyReason ? ` (${r.strategyReason})` : ''}`);
  lines.push('Timeline:');
  for (const phase of PHASES) {
    const ms = r.phases[phase];
    if (ms !== undefined) lines.push(`  ${phase.padEnd(10)} ${String(ms).padStart(7)} ms`);
  }
  lines.push(`  ${'frozen'.padEnd(10)} ${String(r.freezeMs).padStart(7)} ms`, `  ${'total'.padEnd(10)} ${String(r.totalMs).padStart(7)} ms`);
  lines.push(`Moved ${formatBytes(r.bytes)}${r.transfer ? ` (${r.transfer})` : ''}.`);
  if (r.rounds?.length) {
    lines.push(`Pre-copy rounds${r.roundsStopped ? ` (${r.roundsStopped})` : ''}:`);
    for (const c of r.rounds) lines.push(`  ${(c.final ? 'final' : `round ${c.round}`).padEnd(10)} ${formatBytes(c.bytes).padStart(10)} ${String(c.ms).padStart(7)} ms`);
  }
  if (r.options.length) {
    lines.push('CRIU options:');
    for (const o of r.options) lines.push(`  ${o.option}: ${o.reason}`);
  }
  return `${lines.filter((l) => l !== '').join('\n')}\n`;
}

export function formatBatch(b: BatchResult): string {
  const lines = [
    b.ok
      ? `Moved ${b.processes.length} processes from ${b.from} to ${b.to}.`
      : `${b.processes.filter((p) => !p.ok).length} of ${b.processes.length} processes could not be moved: ${b.error}`,
  ];
  if (b.freezeSlots) lines.push(`Frozen ${b.freezeSlots.count} at a time: ${b.freezeSlots.reason}.`);
  for (const p of b.processes) {
    lines.push(
      p.ok
        ? `  ${p.sourcePid} → PID ${p.destinationPid} on ${p.to}: ${p.strategy}, frozen ${p.freezeMs} ms, ${formatBytes(p.bytes)}`
        : `  ${p.sourcePid}: failed (${p.error})${p.rolledBack ? `, still running on ${p.from}` : ''}`,
    );
  }
  lines.push(`Longest freeze ${b.freezeMs} ms, total ${b.totalMs} ms, moved ${formatBytes(b.bytes)}.`);
  return `${lines.join('\n')}\n`;
}

/** `procmig run`, started: where it runs, where its output or terminal is, how to move it. */
export function formatRun(r: RunResult): string {
  const lines = [`Started \`${commandLine(r.command)}\` migration-ready on ${r.host} as PID ${r.pid}${r.terminal ? `, in tmux session ${r.terminal.session}` : ''}.`];
  if (r.terminal) lines.push(`Its terminal: ${attachCommand(r.terminal)}`);
  if (r.log) lines.push(`Its output: ${r.log}${r.host === 'local' ? '' : ` on ${r.host}`}`);
  lines.push(`To move it: procmig migrate ${r.pid} --from ${r.host} --to HOST`);
  return `${lines.join('\n')}\n`;
}

/** The command that reaches a migrated process's terminal from this machine. */
export function attachCommand(terminal: { host: string; attach: string[] }): string {
  const attach = terminal.attach.join(' ');
  return terminal.host === 'local' ? attach : `ssh -t ${terminal.host} ${attach}`;
}

/** `procmig hosts`: one line per host. */
export function formatHostStates(states: readonly HostState[]): string {
  return states
    .map((s) => {
      if (s.stale && !s.cpus) return `${s.host}: ${s.stale}\n`;
      const busy = s.busyCores !== undefined ? `, ${s.busyCores.toFixed(2)} cores busy` : '';
      const limit = s.memLimitKiB !== undefined ? ` (limit ${formatKiB(s.memLimitKiB)})` : '';
      const psi = s.cpuPressure !== undefined ? `, CPU pressure ${s.cpuPressure}%` : '';
      const rtt = s.rttMs !== undefined ? `, RTT ${s.rttMs} ms` : '';
      const links = s.links?.length ? `, links ${linksText(s)}` : '';
      return `${s.host}: ${s.cpus} cores, load ${s.load1PerCore.toFixed(2)}/${s.load5PerCore.toFixed(2)} per core${busy}${psi}, ${formatKiB(s.memAvailableKiB)} available${limit}, ${formatKiB(s.diskAvailableKiB)} disk, CRIU ${s.criuVersion ?? 'none'}${rtt}${links}${s.stale ? ` [stale: ${s.stale}]` : ''}\n`;
    })
    .join('');
}

/** `procmig evacuate`: what moved where, then what stayed and why. */
/** One line per protection event (`procmig protect`), the first checkpoint's options below it. */
export function formatProtectEvent(e: ProtectEvent): string {
  const options = e.event === 'checkpoint' && e.ok ? (e.options ?? []) : [];
  return `${new Date(e.at).toLocaleTimeString()} ${describeProtectEvent(e)}\n${options.map((o) => `  ${o.option}: ${o.reason}\n`).join('')}`;
}

export function formatEvacuation(e: EvacuationResult): string {
  const moved = e.results.filter((r) => r.ok);
  const lines = [`Moved ${moved.length} of ${e.results.length + e.left.length} process trees off ${e.from} in ${e.totalMs} ms.`];
  for (const r of e.results) lines.push(r.ok ? `  ${r.sourcePid} → ${r.to} as PID ${r.destinationPid} (frozen ${r.freezeMs} ms)` : `  ${r.sourcePid}: not moved: ${r.error}`);
  if (e.left.length) lines.push('Left on the host:');
  for (const l of e.left) lines.push(`  ${l.pid} ${l.name}: ${l.reason}`);
  return `${lines.join('\n')}\n`;
}

/** `procmig watch`: one line per event, its local time first. */
export function formatWatchEvent(e: WatchEvent): string {
  return `${new Date(e.time).toLocaleTimeString('en-GB')} ${e.message}\n`;
}
