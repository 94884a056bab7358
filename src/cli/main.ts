// procmig: the command-line face of the engine the extension uses. Users script it; the
// end-to-end tests drive it.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import * as readline from 'node:readline/promises';
import type { Engine, HostReport, MigrationProgress, MigrationResult, ProcessInfo, RunResult, Strategy } from '../migration/api';
import { createEngine } from '../migration/engine';
import { HostStates } from '../automatic/hostStates';
import { migrateToBest } from '../automatic/placement';
import { evacuate } from '../automatic/evacuate';
import { protect, type ProtectEvent } from '../automatic/protect';
import { parsePolicies } from '../automatic/policy';
import { PolicyWatcher } from '../automatic/watch';
import { listConfiguredHosts } from '../transport/sshConfig';
import type { HostKeyDecision, PassphraseRequest, UnknownHostKey } from '../transport/host';
import { askOncePerSession } from '../transport/knownHosts';
import { formatBatch, formatEvacuation, formatHostReport, formatHostStates, formatMigration, formatProcessTree, formatProtectEvent, formatRun, formatWatchEvent } from './format';

interface GlobalOptions {
  sshConfig?: string;
  verbose?: boolean;
}

function engineFor(options: GlobalOptions): Engine {
  // Without a terminal nothing is asked: an unknown key or a locked key fails with a sentence
  // saying how to trust it (ssh-keyscan) or unlock it (ssh-add).
  const tty = process.stdin.isTTY && process.stderr.isTTY;
  return createEngine({
    sshConfigFile: options.sshConfig,
    log: options.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
    onUnknownHostKey: tty ? askOncePerSession(askHostKey) : undefined,
    askPassphrase: tty ? askPassphrase : undefined,
  });
}

const MAX_PASSPHRASE_ATTEMPTS = 3;

/** Like ssh: `Enter passphrase for key '…':` without echo, three tries. */
async function askPassphrase({ keyFile, unlocks }: PassphraseRequest): Promise<string | undefined> {
  for (let attempt = 1; attempt <= MAX_PASSPHRASE_ATTEMPTS; attempt++) {
    const passphrase = await readHidden(`Enter passphrase for key '${keyFile}': `);
    if (passphrase === undefined) return undefined;
    if (passphrase && unlocks(passphrase)) return passphrase;
    process.stderr.write(attempt < MAX_PASSPHRASE_ATTEMPTS ? 'Bad passphrase, try again.\n' : 'Bad passphrase.\n');
  }
  return undefined;
}

/** Reads one line from the terminal without echoing it; undefined on Ctrl-C or Ctrl-D. */
function readHidden(prompt: string): Promise<string | undefined> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve) => {
    let typed = '';
    const done = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(typed);
        if (ch === '\u0003' || (ch === '\u0004' && !typed)) return done(undefined);
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function askHostKey(key: UnknownHostKey): Promise<HostKeyDecision> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `The authenticity of host '${key.name}' (${key.host} port ${key.port}) can't be established.\n` +
        `${key.keyType} key fingerprint is ${key.fingerprint}.\n` +
        `Trust it once, always (add to ${key.knownHostsFile}), or no? [once/always/no] `,
    );
    return answer.startsWith('a') ? 'always' : answer.startsWith('o') || answer.startsWith('y') ? 'once' : 'reject';
  } finally {
    rl.close();
  }
}

async function withEngine<T>(options: GlobalOptions, work: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = engineFor(options);
  try {
    return await work(engine);
  } finally {
    await engine.dispose();
  }
}

const program = new Command('procmig')
  .description('Live-migrate running Linux processes between hosts with CRIU over SSH.')
  .option('--ssh-config <file>', 'read this ssh_config instead of ~/.ssh/config')
  .option('-v, --verbose', 'log each step to stderr')
  .showHelpAfterError();

program
  .command('ps')
  .description('show the process tree of a host: pid, user, command, cpu, rss')
  .option('--host <host>', 'local, an ssh_config alias, or user@host[:port]', 'local')
  .option('--json', 'print JSON')
  .action(async (opts: { host: string; json?: boolean }) => {
    const processes: ProcessInfo[] = await withEngine(program.opts(), (e) => e.listProcesses(opts.host));
    process.stdout.write(opts.json ? `${JSON.stringify(processes, null, 2)}\n` : formatProcessTree(processes));
  });

program
  .command('check')
  .description('show the capabilities and problems of each host')
  .argument('[hosts...]', 'hosts to check', ['local'])
  .option('--json', 'print JSON')
  .action(async (hosts: string[], opts: { json?: boolean }) => {
    const reports: HostReport[] = await withEngine(program.opts(), (e) => Promise.all(hosts.map((h) => e.checkHost(h))));
    process.stdout.write(opts.json ? `${JSON.stringify(reports, null, 2)}\n` : reports.map(formatHostReport).join('\n'));
    if (reports.some((r) => !r.reachable || r.problems.length)) process.exitCode = 1;
  });

program
  .command('setup')
  .description("install what a host lacks: CRIU 4.2+, tmux, and CRIU's unprivileged mode for you (needs root or sudo there, once)")
  .argument('<host>', 'local, an ssh_config alias, or user@host[:port]')
  .option('--user <name>', 'connected as root: the user to let run CRIU without root')
  .action(async (host: string, opts: { user?: string }) => {
    await withEngine(program.opts(), async (e) => {
      const { report } = await e.setUpHost(host, { user: opts.user, onStep: (s) => process.stderr.write(`${s}\n`) });
      process.stdout.write(formatHostReport(report));
      if (!report.reachable || report.problems.length) process.exitCode = 1;
    });
  });

program
  .command('migrate')
  .description('move running processes (each with its children) to another host')
  .argument('<pids...>', 'the processes to move; several move together, frozen at once', (v: string, previous: number[] = []) => {
    if (!/^\d+$/.test(v)) throw new Error(`'${v}' is not a PID`);
    return [...previous, Number(v)];
  })
  .requiredOption('--to <host>', "destination host, or 'auto': the host with the most headroom for the process where the full preflight passes")
  .option('--among <hosts>', "with --to auto: the comma-separated hosts to choose among (default: every host of the ssh config)")
  .option('--from <host>', 'source host', 'local')
  .addOption(new Option('--strategy <strategy>', 'how the processes move').choices(['auto', 'stop-and-copy', 'pre-copy', 'post-copy']).default('auto'))
  .option('--json', 'print one JSON object')
  .option('--forward-ports', "after the move, keep forwarding the source's 127.0.0.1 ports the processes listen on to the destination, until Ctrl-C")
  .action(async (pids: number[], opts: { to: string; from: string; among?: string; strategy: Strategy; json?: boolean; forwardPorts?: boolean }) => {
    const controller = new AbortController();
    // Ctrl-C rolls back instead of leaving a frozen process behind.
    const onSigint = () => controller.abort();
    process.on('SIGINT', onSigint);
    const migrateOptions = {
      signal: controller.signal,
      onProgress: opts.json ? undefined : (p: MigrationProgress) => process.stderr.write(`${p.phase}: ${p.message}\n`),
    };
    const { from, to, strategy } = opts;
    try {
      await withEngine(program.opts(), async (e) => {
        let moved: MigrationResult[];
        if (to === 'auto') {
          if (pids.length !== 1) throw new Error('--to auto places one process at a time; give one PID');
          const states = new HostStates(e);
          const among = opts.among ? opts.among.split(',').map((h) => h.trim()).filter(Boolean) : listConfiguredHosts(program.opts<GlobalOptions>().sshConfig);
          const result = await migrateToBest(e, states, { pid: pids[0], from, among, strategy }, migrateOptions);
          process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatMigration(result));
          process.exitCode = result.ok ? 0 : 1;
          moved = [result];
        } else if (pids.length === 1) {
          const result = await e.migrate({ pid: pids[0], from, to, strategy }, migrateOptions);
          process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatMigration(result));
          process.exitCode = result.ok ? 0 : 1;
          moved = [result];
        } else {
          const batch = await e.migrateMany({ pids, from, to, strategy }, migrateOptions);
          process.stdout.write(opts.json ? `${JSON.stringify(batch)}\n` : formatBatch(batch));
          process.exitCode = batch.ok ? 0 : 1;
          moved = batch.processes;
        }
        if (opts.forwardPorts) await forwardUntilInterrupted(e, from, to, moved);
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  });

program
  .command('evacuate')
  .description("move every migratable process tree of yours off a host, each where it fits; those that cannot move are named and never frozen")
  .argument('<host>', 'the host to empty')
  .option('--to <host>', "one destination, or 'auto': each tree where it has the most headroom", 'auto')
  .option('--among <hosts>', 'with --to auto: the comma-separated hosts to choose among (default: every host of the ssh config)')
  .option('--pid <pid...>', 'only these trees')
  .option('--json', 'print one JSON object')
  .action(async (host: string, opts: { to: string; among?: string; pid?: string[]; json?: boolean }) => {
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.on('SIGINT', onSigint);
    try {
      const result = await withEngine(program.opts(), (e) =>
        evacuate(
          e,
          new HostStates(e),
          { from: host, to: opts.to, among: opts.among ? opts.among.split(',').map((h) => h.trim()).filter(Boolean) : listConfiguredHosts(program.opts<GlobalOptions>().sshConfig), pids: opts.pid?.map(Number) },
          { signal: controller.signal, onProgress: opts.json ? undefined : (p: MigrationProgress) => process.stderr.write(`${p.phase}: ${p.message}\n`) },
        ),
      );
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatEvacuation(result));
      process.exitCode = result.ok ? 0 : 1;
    } finally {
      process.off('SIGINT', onSigint);
    }
  });

program
  .command('protect')
  .description('checkpoint a process to a standby host at an interval while it runs on, and restore it there when its host is lost; runs until Ctrl-C')
  .argument('<pid>', 'the process to protect (with its children)', Number)
  .requiredOption('--standby <host>', 'where the checkpoints are kept, and the process restored')
  .requiredOption('--every <seconds>', 'seconds between two checkpoints', Number)
  .option('--from <host>', 'the host it runs on', 'local')
  .addOption(new Option('--failover <mode>', 'when its host is lost: ask first, or restore at once').choices(['ask', 'auto']).default('ask'))
  .option('--lost-after <seconds>', 'how long its host may not answer before it counts as lost', Number, 60)
  .option('--json', 'print one JSON object per checkpoint and per failover')
  .action(async (pid: number, opts: { standby: string; every: number; from: string; failover: 'ask' | 'auto'; lostAfter: number; json?: boolean }) => {
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.on('SIGINT', onSigint);
    try {
      await withEngine(program.opts(), async (e) => {
        if (!e.protection) throw new Error('This engine cannot protect processes.');
        const deps = {
          protection: e.protection,
          onEvent: (event: ProtectEvent) => process.stdout.write(opts.json ? `${JSON.stringify(event)}\n` : formatProtectEvent(event)),
          confirm: process.stdin.isTTY ? askYesNo : undefined,
        };
        await protect(deps, { pid, from: opts.from, standby: opts.standby, everyS: opts.every, failover: opts.failover, lostAfterS: opts.lostAfter }, controller.signal);
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  });

async function askYesNo(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

program
  .command('watch')
  .description('the policy daemon: measures the hosts every few seconds and, when a rule of the policy file fires, moves the marked processes it picks to the best host; until Ctrl-C')
  .requiredOption('--policy <file>', 'the JSON policy file (the same object as the setting processMigrator.policies)')
  .option('--dry-run', 'only say what would be moved where, and why; move nothing')
  .option('--json', 'print one JSON object per event and line')
  .action(async (opts: { policy: string; dryRun?: boolean; json?: boolean }) => {
    const { policies, errors } = parsePolicies(readPolicyFile(opts.policy));
    if (!policies) throw new Error(`${opts.policy}: ${errors.join(' ')}`);
    const controller = new AbortController();
    // Ctrl-C (or systemd's SIGTERM) stops the loop; a move under way rolls back.
    const stop = () => controller.abort();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      await withEngine(program.opts(), async (e) => {
        const states = new HostStates(e);
        const watcher = new PolicyWatcher(e, states, policies, {
          configured: listConfiguredHosts(program.opts<GlobalOptions>().sshConfig),
          dryRun: opts.dryRun,
          onEvent: (event) => process.stdout.write(opts.json ? `${JSON.stringify(event)}\n` : formatWatchEvent(event)),
        });
        await watcher.run(controller.signal);
        states.dispose();
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });

function readPolicyFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the policy file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`the policy file ${file} is not JSON: ${(err as Error).message}`);
  }
}

program
  .command('hosts')
  .description('measure each host: cores (its CPU quota), load, CPU use, available memory (its cgroup limit), disk, CRIU, RTT')
  .argument('[hosts...]', 'hosts to measure (default: every host of the ssh config)')
  .option('--json', 'print JSON')
  .action(async (hosts: string[], opts: { json?: boolean }) => {
    const names = hosts.length ? hosts : listConfiguredHosts(program.opts<GlobalOptions>().sshConfig);
    const states = await withEngine(program.opts(), async (e) => {
      const cache = new HostStates(e);
      // Two readings a second apart turn the cgroups' CPU time into a rate; the round trips
      // between the hosts are measured meanwhile (each pair once, bounded in flight).
      await cache.get(names);
      await Promise.all([new Promise((r) => setTimeout(r, 1000)), cache.measureLinksAmong(names)]);
      await Promise.all(names.map((h) => cache.probe(h)));
      return names.map((h) => cache.peek(h)!);
    });
    process.stdout.write(opts.json ? `${JSON.stringify(states, null, 2)}\n` : formatHostStates(states));
    if (states.some((s) => s.stale)) process.exitCode = 1;
  });

program
  .command('run')
  .description('start a command migration-ready (io_uring unavailable to it, so that Node.js 22+ and the like can move): detached, its output in a private log file, or in a tmux session')
  .usage('[options] -- <command...>')
  .argument('<command...>', 'the command and its arguments, after `--`')
  .option('--host <host>', 'local, an ssh_config alias, or user@host[:port]', 'local')
  .option('--tmux', 'in a new detached tmux session there, to attach to later')
  .option('--cwd <dir>', 'its working directory there (default: this one for local, else the login directory)')
  .option('--json', 'print one JSON object')
  .addHelpText('after', '\nExample: procmig run --host lab-a -- node server.js --port 3000')
  .action(async (command: string[], opts: { host: string; tmux?: boolean; cwd?: string; json?: boolean }) => {
    const result: RunResult = await withEngine(program.opts(), async (e) => {
      if (!e.run) throw new Error('this engine cannot start programs');
      return e.run({ host: opts.host, command, tmux: opts.tmux, cwd: opts.cwd });
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.ok) process.stdout.write(formatRun(result));
    else process.stderr.write(`procmig: ${result.error}\n`);
    process.exitCode = result.ok ? 0 : 1;
  });

/** `--forward-ports`: forwards the ports the moved processes listen on from the source to the
 * destination and keeps running until SIGINT or SIGTERM. Status lines go to stderr. */
async function forwardUntilInterrupted(engine: Engine, from: string, to: string, moved: MigrationResult[]): Promise<void> {
  const ports = [...new Set(moved.filter((r) => r.ok).flatMap((r) => r.listeningPorts ?? []))];
  if (!ports.length) {
    process.stderr.write('No ports to forward: the moved processes listen on no TCP port.\n');
    return;
  }
  if (!engine.forwardPorts) throw new Error('this engine cannot forward ports');
  const forwarding = await engine.forwardPorts(from, to, ports);
  for (const f of forwarding.failed) process.stderr.write(`Not forwarding port ${f.port}: ${f.error}\n`);
  if (!forwarding.ports.length) {
    process.exitCode = 1;
    return;
  }
  process.stderr.write(
    `Forwarding 127.0.0.1:${forwarding.ports.join(', ')} on ${from} to the same port${forwarding.ports.length > 1 ? 's' : ''} on ${to}; Ctrl-C stops.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await forwarding.dispose();
  process.stderr.write(`Stopped forwarding after ${forwarding.connections} connection${forwarding.connections === 1 ? '' : 's'}.\n`);
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`procmig: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
