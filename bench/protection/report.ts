// The protection bench's results: what one workload measured, and its Markdown report.
import type { Environment } from '../env';
import { SOURCE } from '../lab';
import { stat, type Stat } from '../report';
import type { HandCheckpoint, HandRestore } from './byHand';
import type { FailoverRecord } from './failover';

export interface ProcmigCheckpoint {
  at: string;
  freezeMs: number;
  totalMs: number;
  bytes: number;
}

export interface WorkloadRecord {
  mib: number;
  label: string;
  pid?: number;
  procmig: { checkpoints: ProcmigCheckpoint[]; failed: string[]; options?: unknown; failover?: FailoverRecord };
  byHand: { checkpoints: HandCheckpoint[]; restores: HandRestore[] };
  error?: string;
}

export interface ProtectionResults {
  runId: string;
  config: { sizes: number[]; everyS: number; checkpoints: number; lostAfterS: number };
  environment: Environment;
  workloads: WorkloadRecord[];
  notes: string[];
}

const s = (ms: number) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));
const range = (x?: Stat) => (x ? `${s(x.min)} / **${s(x.median)}** / ${s(x.max)}` : '—');
const one = (ms?: number) => (ms === undefined || !Number.isFinite(ms) ? '—' : s(ms));
const ratio = (a?: number, b?: number) => (a === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`);
const pct = (x?: number) => (x === undefined ? '—' : `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`);
const mib = (bytes?: number) => (bytes === undefined ? '—' : `${(bytes / (1 << 20)).toFixed(0)} MiB`);

export function overheadTable(json: ProtectionResults): string {
  const every = json.config.everyS * 1000;
  const lines = [
    `| Workload | Method | Freeze s (min / **median** / max) | Freeze / ${json.config.everyS} s interval | Freeze vs by hand | Checkpoint s (min / **median** / max) | Checkpoint vs by hand | Size | Checkpoints |`,
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const w of json.workloads) {
    const hand = { freeze: stat(w.byHand.checkpoints.map((c) => c.dumpMs)), total: stat(w.byHand.checkpoints.map((c) => c.totalMs)), bytes: stat(w.byHand.checkpoints.map((c) => c.bytes)) };
    const ours = { freeze: stat(w.procmig.checkpoints.map((c) => c.freezeMs)), total: stat(w.procmig.checkpoints.map((c) => c.totalMs)), bytes: stat(w.procmig.checkpoints.map((c) => c.bytes)) };
    const runs = (n: number, failed = 0) => (failed ? `${n} ok, ${failed} failed` : `${n}`);
    lines.push(
      `| ${w.label} | procmig protect | ${range(ours.freeze)} | ${pct(ours.freeze && ours.freeze.median / every)} | ${ratio(ours.freeze?.median, hand.freeze?.median)} | ${range(ours.total)} | ${ratio(ours.total?.median, hand.total?.median)} | ${mib(ours.bytes?.median)} | ${runs(w.procmig.checkpoints.length, w.procmig.failed.length)} |`,
      `| ${w.label} | by hand | ${range(hand.freeze)} | ${pct(hand.freeze && hand.freeze.median / every)} | 1.00× | ${range(hand.total)} | 1.00× | ${mib(hand.bytes?.median)} | ${runs(w.byHand.checkpoints.length)} |`,
    );
  }
  return lines.join('\n');
}

export function failoverTable(json: ProtectionResults): string {
  const lines = [
    `| Workload | Crash → answers on lab-b s | Crash → lost s (--lost-after ${json.config.lostAfterS} s) | Detection → running s (procmig) | By hand: \`criu restore -d\` s (min / **median** / max) | Detection → running vs by hand | By hand: restore → answers s | Work lost s: crash − checkpoint / procmig's workLostS |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const w of json.workloads) {
    const f = w.procmig.failover;
    const restore = stat(w.byHand.restores.map((r) => r.restoreMs));
    const answer = stat(w.byHand.restores.map((r) => r.answerMs));
    if (!f?.ok && !f?.detectToRunningMs) {
      lines.push(`| ${w.label} | failed: ${(f?.error ?? w.error ?? 'not measured').replace(/\|/g, '/')} | — | — | ${range(restore)} | — | ${range(answer)} | — |`);
      continue;
    }
    lines.push(
      `| ${w.label} | ${one(f.crashToAnswerMs)} | ${one(f.crashToLostMs)} | ${one(f.detectToRunningMs)} | ${range(restore)} | ${ratio(f.detectToRunningMs, restore?.median)} | ${range(answer)} | ${f.crashMinusCheckpointS?.toFixed(1) ?? '—'} / ${f.workLostS ?? '—'} |`,
    );
  }
  return lines.join('\n');
}

export function render(json: ProtectionResults): string {
  const env = json.environment;
  const { everyS, checkpoints, lostAfterS } = json.config;
  return [
    '# Protection: procmig protect vs. CRIU by hand',
    '',
    `${env.date.slice(0, 10)} · ${env.cores} cores (${env.cpuModel}) · kernel ${env.kernel} · CRIU ${env.criu[SOURCE]} · ${env.openssh} · ${env.cli} · a checkpoint every ${everyS} s, ${checkpoints} per workload · --lost-after ${lostAfterS} s · ssh round trip ${env.sshRoundTripMs} ms · load ${env.load.start}${env.load.end ? ` → ${env.load.end}` : ''}`,
    '',
    '## Overhead: a checkpoint every interval, the process running on',
    '',
    overheadTable(json),
    '',
    '*procmig protect*: `procmig protect PID --from lab-a --standby lab-b --every S --failover auto --json`, its `checkpoint` events: ' +
      '*freeze* from the freeze until the process runs on (the engine\'s own measure, which includes a round trip to lab-a), *checkpoint* the whole checkpoint with its preflight and the stream to lab-b. ' +
      '*by hand*: `criu dump --leave-running` into a 0700 directory on lab-a, `tar | ssh` host to host into a 0700 directory on lab-b, the local copy deleted, one `ssh` per step from the root namespace; ' +
      'its *freeze* is the dump\'s duration timed on lab-a (no round trip), its *checkpoint* the steps together as typed. ' +
      'Both dump to lab-a\'s disk and send the checkpoint once the process runs on; both send it host to host (procmig through its one-time OpenSSH tunnel, a tar stream between the image directories\' sockets). ' +
      'The `×` columns divide procmig\'s median by the by-hand median: below `1.00×` is better.',
    '',
    '## Failover: lab-a crashes',
    '',
    failoverTable(json),
    '',
    'Right after the last checkpoint, `sh scripts/lab.sh crash lab-a` kills every process of lab-a at once. ' +
      '*Crash → answers*: until the process, restored by procmig, answers a signal on lab-b (timed by a watcher on lab-b connected before the crash). ' +
      `*Crash → lost*: until procmig's \`lost\` event; it waits --lost-after (${lostAfterS} s here) without an answer from lab-a, so this is mostly that setting. ` +
      '*Detection → running*: the `failover` event\'s `detectToRunningMs` (the restore on lab-b and its check). ' +
      '*By hand*: `criu restore -d` of a checkpoint made by hand, on lab-b, timed there (each by-hand checkpoint restored once, its copy then killed), and until that copy answers the same signal. ' +
      '*Work lost*: the process\'s time since the checkpoint it came back from, at the crash, and procmig\'s `workLostS` (the work between the checkpoint and lab-a\'s last answer: lost at least). ' +
      `A crash at a random moment loses on average half the interval (${everyS / 2} s) of work; the downtime (crash → answers) comes on top.`,
    '',
    ...(json.notes.length ? ['Notes:', '', ...json.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
