// `procmig evacuate` and `procmig watch`: the moves the engine decides on, by placement and by
// policy, and their output.
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { formatBytes } from '../common/format';
import { AUTO_HOST, type Engine, type EvacuationResult, type MigrationProgress, type Strategy, type WatchEvent } from '../migration/api';
import { parsePolicy } from '../migration/automatic/policy';
import { watchPolicy } from '../migration/automatic/watch';

type WithEngine = <T>(work: (engine: Engine) => Promise<T>) => Promise<T>;

/** `--among a,b`: the hosts placement chooses among. */
export const hostList = (v: string): string[] => v.split(',').map((h) => h.trim()).filter(Boolean);

export function addAutomaticCommands(program: Command, withEngine: WithEngine): void {
  program
    .command('evacuate')
    .description("move every migratable process of yours (or the --pid ones) off a host in one batch, each where it fits; those that cannot move are named and never frozen")
    .argument('<host>', 'the host to empty')
    .option('--to <host>', `where they all go, or ${AUTO_HOST}: each where it fits best`, AUTO_HOST)
    .option('--pid <pid>', 'only this process (repeat for several)', (v: string, previous: number[] = []) => {
      if (!/^\d+$/.test(v)) throw new Error(`'${v}' is not a PID`);
      return [...previous, Number(v)];
    })
    .option('--among <hosts>', `with --to ${AUTO_HOST}: the hosts to choose among, comma-separated (default: every host of the ssh config)`, hostList)
    .addOption(new Option('--strategy <strategy>', 'how the processes move').choices(['auto', 'stop-and-copy', 'pre-copy', 'post-copy']).default('auto'))
    .option('--json', 'print one JSON object')
    .action(async (from: string, opts: { to: string; pid?: number[]; among?: string[]; strategy: Strategy; json?: boolean }) => {
      if (opts.among && opts.to !== AUTO_HOST) throw new Error(`--among goes with --to ${AUTO_HOST}`);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.on('SIGINT', onSigint);
      try {
        const result = await withEngine(async (e) => {
          if (!e.evacuate) throw new Error('this engine cannot evacuate hosts');
          return e.evacuate(
            { from, to: opts.to, pids: opts.pid, strategy: opts.strategy, ...(opts.among ? { candidates: opts.among } : {}) },
            { signal: controller.signal, onProgress: opts.json ? undefined : (p: MigrationProgress) => process.stderr.write(`${p.phase}: ${p.message}\n`) },
          );
        });
        process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatEvacuation(result));
        // 0 only when the host is empty of what was asked: everything moved, nothing left.
        process.exitCode = result.ok && !result.left.length ? 0 : 1;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('watch')
    .description('the policy daemon: moves marked processes off hosts that are busy or short of memory, by the rules of a policy file, until Ctrl-C')
    .requiredOption('--policy <file>', 'the policy (JSON: rules and marked processes; see the README)')
    .option('--dry-run', 'only say what it would move')
    .option('--json', 'print a line of JSON per move')
    .action(async (opts: { policy: string; dryRun?: boolean; json?: boolean }) => {
      const policy = parsePolicy(JSON.parse(readFileSync(opts.policy, 'utf8')), opts.policy);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const hosts = [...new Set(policy.rules.map((r) => r.host))];
      process.stderr.write(`Watching ${hosts.join(', ')} every ${policy.pollSeconds ?? 10} s${opts.dryRun ? ' (dry run: nothing moves)' : ''}; Ctrl-C stops.\n`);
      try {
        await withEngine((e) =>
          watchPolicy(e, policy, {
            dryRun: opts.dryRun,
            signal: controller.signal,
            onEvent: (event) => process.stdout.write(opts.json ? `${JSON.stringify(watchJson(event))}\n` : `${formatWatchEvent(event)}\n`),
            onProblem: (sentence) => process.stderr.write(`${sentence}\n`),
          }),
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

/** A move: the migration's result (as `migrate --json`, with `trigger`); a dry run's: what it would do. */
function watchJson(event: WatchEvent): object {
  if (event.kind === 'moved') return event.result;
  const { move } = event;
  return { dryRun: true, sourcePid: move.pid, name: move.name, from: move.host, to: move.to, rule: move.rule, trigger: move.trigger };
}

export function formatWatchEvent(event: WatchEvent): string {
  const { move } = event;
  const at = new Date().toISOString().slice(11, 19);
  const what = `${move.name} (PID ${move.pid})`;
  if (event.kind === 'would-move') return `${at} Would move ${what} from ${move.host} to ${move.to}: ${move.trigger}`;
  const r = event.result;
  return r.ok
    ? `${at} Moved ${what} from ${r.from} to ${r.to}, PID ${r.destinationPid} there (frozen ${r.freezeMs} ms): ${move.trigger}`
    : `${at} Could not move ${what} from ${r.from}: ${r.error}${r.rolledBack ? ` It keeps running on ${r.from}.` : ''} (${move.trigger})`;
}

export function formatEvacuation(r: EvacuationResult): string {
  const moved = r.processes.filter((p) => p.ok);
  const failed = r.processes.filter((p) => !p.ok);
  const lines = [`Evacuating ${r.from}: ${moved.length} moved, ${failed.length} failed, ${r.left.length} left.`];
  for (const p of moved) lines.push(`  ${p.sourcePid} → ${p.to} as PID ${p.destinationPid}: ${p.strategy}, frozen ${p.freezeMs} ms, ${formatBytes(p.bytes)}`);
  for (const p of failed) lines.push(`  ${p.sourcePid}: failed (${p.error})${p.rolledBack ? `, still running on ${p.from}` : ''}`);
  if (r.left.length) lines.push(`Left on ${r.from} (not frozen):`);
  for (const l of r.left) lines.push(`  ${l.pid}${l.name ? ` (${l.name})` : ''}: ${l.reason}`);
  const freeze = Math.max(0, ...r.processes.map((p) => p.freezeMs));
  lines.push(`Longest freeze ${freeze} ms, total ${r.totalMs} ms, moved ${formatBytes(r.processes.reduce((s, p) => s + p.bytes, 0))}.`);
  return `${lines.join('\n')}\n`;
}
