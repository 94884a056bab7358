// `procmig protect`: checkpoints a process on an interval onto a standby and fails over to it,
// until Ctrl-C. Each checkpoint and failover is a line (of JSON with --json) on stdout; what
// needs the user (a failover to confirm, which copy to keep) is asked on the terminal.
import { Option, type Command } from 'commander';
import * as readline from 'node:readline/promises';
import { formatBytes } from '../common/format';
import type { Engine, ProtectionEvent, ProtectOptions, ProtectRequest } from '../migration/api';

interface ProtectFlags {
  from: string;
  standby: string;
  every: number;
  failover: 'ask' | 'auto';
  lostAfter?: number;
  json?: boolean;
}

const seconds = (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`'${v}' is not a positive number of seconds`);
  return n;
};

export function addProtectCommand(program: Command, withEngine: <T>(work: (engine: Engine) => Promise<T>) => Promise<T>): void {
  program
    .command('protect')
    .description('checkpoint a running process on an interval onto a standby host, and restore it there when its host stops answering; runs until Ctrl-C')
    .argument('<pid>', 'the process to protect (with its children)', (v: string) => {
      if (!/^\d+$/.test(v)) throw new Error(`'${v}' is not a PID`);
      return Number(v);
    })
    .requiredOption('--standby <host>', 'where the checkpoints are kept and the process is restored')
    .requiredOption('--every <seconds>', 'seconds between two checkpoints', seconds)
    .option('--from <host>', 'the host the process runs on', 'local')
    .addOption(new Option('--failover <mode>', 'ask before restoring on the standby, or restore at once').choices(['ask', 'auto']).default('ask'))
    .option('--lost-after <seconds>', 'how long the host may not answer before it counts as lost (default: 3 intervals)', seconds)
    .option('--json', 'print a line of JSON for each checkpoint and each failover')
    .action(async (pid: number, flags: ProtectFlags) => {
      const request: ProtectRequest = { pid, from: flags.from, standby: flags.standby, everySeconds: flags.every, failover: flags.failover, lostAfterSeconds: flags.lostAfter };
      await withEngine(async (engine) => {
        if (!engine.protect) throw new Error('this engine cannot protect processes');
        const tty = process.stdin.isTTY && process.stderr.isTTY;
        let optionsShown = false;
        const protection = engine.protect(request, {
          onEvent: (event) => {
            // What CRIU is told and why, once protection runs (the first event).
            if (!optionsShown && !flags.json) for (const o of protection.options ?? []) process.stderr.write(`  ${o.option}: ${o.reason}\n`);
            optionsShown = true;
            process.stdout.write(flags.json ? `${JSON.stringify(event)}\n` : formatProtectionEvent(event));
          },
          confirmFailover: tty ? askFailover : refuseFailover,
          chooseSurvivor: tty ? askSurvivor : undefined,
        });
        const stop = () => void protection.stop();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        const lost = request.lostAfterSeconds ?? 3 * request.everySeconds;
        process.stderr.write(`Protecting process ${pid} on ${request.from}: a checkpoint every ${request.everySeconds} s kept on ${request.standby}; ${request.failover === 'auto' ? 'restored there' : 'you are asked before it is restored there'} once ${request.from} has not answered for ${lost} s. Ctrl-C ends protection.\n`);
        try {
          await protection.done;
          process.stderr.write(`${protection.endReason ?? `Protection of process ${pid} ended; its checkpoints on ${request.standby} are deleted and the process runs on.`}\n`);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });
}

export function formatProtectionEvent(event: ProtectionEvent): string {
  const time = (iso: string) => new Date(iso).toLocaleTimeString();
  if (event.kind === 'checkpoint') {
    if (event.error) return `checkpoint ${event.generation} failed: ${event.error}\n`;
    return `checkpoint ${event.generation} at ${time(event.at)}: frozen ${event.freezeMs} ms, ${formatBytes(event.bytes)} to the standby in ${(event.totalMs / 1000).toFixed(1)} s${event.storedBytes ? ` (it holds ${formatBytes(event.storedBytes)})` : ''}\n`;
  }
  if (!event.ok) return `failover from ${event.host} to ${event.standby} not done: ${event.error}\n`;
  return (
    `failover: ${event.host} lost; restored on ${event.standby} as PID ${event.destinationPid} from the checkpoint of ${event.checkpointAt ? time(event.checkpointAt) : '?'}` +
    ` (work lost: ${((event.workLostMs ?? 0) / 1000).toFixed(1)} s), running ${((event.detectionToRunningMs ?? 0) / 1000).toFixed(1)} s after the loss was detected\n`
  );
}

async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim().toLowerCase();
  } finally {
    rl.close();
  }
}

const askFailover: ProtectOptions['confirmFailover'] = async (lost) => {
  const when = new Date(lost.checkpointAt).toLocaleTimeString();
  const answer = await ask(`${lost.host} has not answered for ${Math.round(lost.silentForMs / 1000)} s: restore process ${lost.pid} from its ${when} checkpoint on ${lost.standby}? [y/N] `);
  return answer === 'y' || answer === 'yes';
};

/** Without a terminal nobody can say yes: nothing is restored, and the user is told how. */
const refuseFailover: ProtectOptions['confirmFailover'] = async (lost) => {
  process.stderr.write(
    `${lost.host} has not answered for ${Math.round(lost.silentForMs / 1000)} s and there is no terminal to ask whether to restore process ${lost.pid} on ${lost.standby}, so nothing was restored; run procmig protect in a terminal, or with --failover auto, to restore it.\n`,
  );
  return false;
};

const askSurvivor: ProtectOptions['chooseSurvivor'] = async (both) => {
  for (;;) {
    const answer = await ask(
      `${both.host} is back and its copy of process ${both.pid} still ran (frozen now); the process also runs on ${both.standby} as PID ${both.standbyPid}. Keep which copy? [old/standby] `,
    );
    if (answer === 'old' || answer === 'standby') return answer;
  }
};
