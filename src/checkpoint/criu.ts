// The CRIU implementation of the checkpoint/restart interface.
import type { ChosenOption } from '../migration/api';
import { versionAtLeast, type ParsedCapabilities } from './capabilities';
import { explainCriuFailure } from './criuLog';
import { CheckpointError, type CheckpointEngine, type CheckpointPlan, type PageReceiver, type ProcessTraits } from './engine';
import { HelperError, type HostHelper } from './hostHelper';

/** 4.2 is the first CRIU that works on current kernels (vDSO layout, TCP socket options). */
export const MINIMUM_CRIU = '4.2';

export class CriuEngine implements CheckpointEngine {
  readonly name = 'criu';

  hostProblems(caps: ParsedCapabilities): string[] {
    const h = caps.host;
    if (caps.privilege === 'none') return [`CRIU needs root on ${h}: connect as root or allow passwordless sudo for criu there.`];
    if (!caps.criuVersion) return [`CRIU is not installed on ${h}: run scripts/install-criu.sh there (it builds CRIU ${MINIMUM_CRIU}+).`];
    if (!versionAtLeast(caps.criuVersion, MINIMUM_CRIU)) {
      return [`${h} has CRIU ${caps.criuVersion}, older than ${MINIMUM_CRIU}: run scripts/install-criu.sh there to install 4.2.1.`];
    }
    if (caps.criuCheck && caps.criuCheck !== 'ok') return [`\`criu check\` fails on ${h} (${caps.criuCheck}); CRIU cannot work there until that is fixed.`];
    return [];
  }

  plan(traits: ProcessTraits): CheckpointPlan {
    const both = (option: string, reason: string | undefined): ChosenOption[] => (reason ? [{ option, reason }] : []);
    const shared = [
      ...both('--shell-job', traits.shellJob),
      ...both('--tcp-close', traits.closeTcp),
      ...both('--file-locks', traits.fileLocks),
    ];
    return {
      dump: [
        { option: '--leave-stopped', reason: 'the source stays frozen, not killed, until the destination runs the process' },
        ...shared,
        ...both('--link-remap', traits.unlinkedFiles),
      ],
      restore: [
        { option: '--restore-detached', reason: 'the restored process must outlive the SSH session that restored it' },
        ...shared,
      ],
    };
  }

  async receivePages(helper: HostHelper, imagesDir: string): Promise<PageReceiver> {
    await helper.ensureInstalled();
    const cmd = helper.spawn(['page-server', imagesDir]);
    let stdout = '';
    let stderr = '';
    cmd.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = new Promise<{ port: number; pid: number }>((resolve, reject) => {
      cmd.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /^ready (\d+) (\d+)$/m.exec(stdout);
        if (m) resolve({ port: Number(m[1]), pid: Number(m[2]) });
      });
      void cmd.exited.then(() => reject(this.failure(stderr, { action: 'page-server', host: helper.host.name })));
    });
    const { port, pid } = await ready;
    let stopped = false;
    const done = cmd.exited.then(({ code }) => {
      if (code !== 0 && !stopped) throw this.failure(stderr, { action: 'page-server', host: helper.host.name });
    });
    done.catch(() => undefined); // observed by whoever awaits `done`
    return {
      port,
      done,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        cmd.kill('SIGTERM');
        // Over SSH the signal may not be delivered: stop the CRIU process itself.
        await helper.exec(['signal', 'TERM', String(pid)]).catch(() => undefined);
      },
    };
  }

  async dump(helper: HostHelper, pid: number, imagesDir: string, plan: CheckpointPlan, pagesPort: number): Promise<void> {
    const args = [
      ...plan.dump.map((o) => o.option).filter((o) => o !== '--leave-stopped'),
      '--page-server', '--address', '127.0.0.1', '--port', String(pagesPort),
    ];
    await this.runCriu(helper, ['dump', String(pid), imagesDir, ...args], { action: 'dump', host: helper.host.name, pid });
  }

  async restore(helper: HostHelper, imagesDir: string, plan: CheckpointPlan): Promise<number> {
    const args = plan.restore.map((o) => o.option).filter((o) => o !== '--restore-detached');
    const out = await this.runCriu(helper, ['restore', imagesDir, ...args], { action: 'restore', host: helper.host.name });
    const m = /^pid=(\d+)$/m.exec(out);
    if (!m) throw new CheckpointError(`CRIU restored on ${helper.host.name} but did not report the new PID.`, 'other', []);
    return Number(m[1]);
  }

  private async runCriu(helper: HostHelper, args: string[], ctx: Parameters<typeof explainCriuFailure>[1]): Promise<string> {
    try {
      return await helper.run(args);
    } catch (err) {
      if (err instanceof HelperError) throw this.failure(err.result.stderr, ctx);
      throw err;
    }
  }

  private failure(stderr: string, ctx: Parameters<typeof explainCriuFailure>[1]): CheckpointError {
    const lines = stderr.split('\n').filter(Boolean);
    const log = lines.filter((l) => l.startsWith('criu-log: ')).map((l) => l.slice(10));
    const own = lines.filter((l) => !l.startsWith('criu-log: '));
    const { kind, message } = explainCriuFailure([...log, ...own], ctx);
    return new CheckpointError(message, kind, log.length ? log : own, ctx.host);
  }
}
