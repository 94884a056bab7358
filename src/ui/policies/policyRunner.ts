// The extension's policy watcher (automatic/watch.ts, over the session's engine and HostStates):
// one runs while processMigrator.policies has rules and some process is marked. A changed setting
// (or host list) starts it again; changed marks reach the running one, which keeps its rules'
// state and the times of its moves. Each move shows as a progress notification whose Cancel
// aborts it, lands in the history with its trigger, and ends in a notification saying what moved
// where and why.
import * as vscode from 'vscode';
import type { PolicyWatcher as Watcher, PlannedMove, WatchEvent } from '../../automatic/watch';
import { PolicyWatcher } from '../../automatic/watch';
import type { MigrationProgress, MigrationResult } from '../../migration/api';
import { notStartedResult } from '../../migration/notStarted';
import { phaseInfo } from '../../migration/phases';
import { Commands, fullSettingKey, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { recordBatch } from '../migrate/batchMigration';
import type { MigrationDeps } from '../migrate/migrationDeps';
import { SHOW_REPORT } from '../migrate/migrationProgress';
import type { PolicyMarks } from './policyMarks';
import { movingTitle, moveOutcomeText, type PolicySetting, readPolicySetting } from './policyText';

/** The setting as it is now. */
export function currentPolicySetting(): PolicySetting {
  return readPolicySetting(readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'policies'));
}

export interface PolicyDeps extends MigrationDeps {
  marks: PolicyMarks;
}

interface Running {
  watcher: Watcher;
  stop: AbortController;
  done: Promise<void>;
}

/** A move under way: its notification ends with its `moved` or `not-moved` event. */
interface Moving {
  move: PlannedMove;
  end: () => void;
}

export class PolicyRunner implements vscode.Disposable {
  private running?: Running;
  private moving?: Moving;
  /** Reloads run one after another. */
  private queue: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(event: WatchEvent) => void>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly deps: PolicyDeps) {
    this.subscriptions = [
      vscode.workspace.onDidChangeConfiguration((e) => {
        // The hosts are the rules' default hosts and destinations.
        if ((['policies', 'hosts', 'sshConfigFile'] as const).some((k) => e.affectsConfiguration(fullSettingKey(k)))) void this.reload(e.affectsConfiguration(fullSettingKey('policies')));
      }),
      deps.marks.onDidChange(() => this.marksChanged()),
    ];
  }

  /** Whether a watcher runs now. */
  get active(): boolean {
    return this.running !== undefined;
  }

  /** Each event of the watcher as it comes, before the extension acts on it (tests). */
  onDidEvent(listener: (event: WatchEvent) => void): vscode.Disposable {
    this.listeners.add(listener);
    return new vscode.Disposable(() => this.listeners.delete(listener));
  }

  /** Reads the setting again and starts the watcher if it should run; `warn` says a bad setting
   * in a notification (once per change of the setting, not on each change of the marks). */
  reload(warn: boolean): Promise<void> {
    this.queue = this.queue.then(() => this.restart(warn));
    return this.queue;
  }

  private async restart(warn: boolean): Promise<void> {
    await this.stop();
    const setting = currentPolicySetting();
    this.deps.marks.setConfigured(setting.state === 'on' ? setting.policies.marked : []);
    if (setting.state === 'invalid') {
      this.deps.log.warn(setting.message);
      if (warn) void vscode.window.showWarningMessage(setting.message);
      return;
    }
    if (setting.state === 'off' || !this.deps.marks.all().length) return;
    const stop = new AbortController();
    const watcher = new PolicyWatcher(this.deps.engine, this.deps.hostStates, { ...setting.policies, marked: this.deps.marks.all() }, {
      configured: this.deps.model.hostNames(),
      onEvent: (event) => void this.handle(event),
      onMove: (move) => this.showMove(move),
    });
    const done = watcher.run(stop.signal).catch((err: unknown) => this.deps.log.error(`The policy watcher stopped: ${(err as Error).message}`));
    this.running = { watcher, stop, done };
  }

  private async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    running?.stop.abort();
    await running?.done;
    this.moving?.end();
  }

  private marksChanged(): void {
    const marks = this.deps.marks.all();
    if (this.running && marks.length) this.running.watcher.setMarked(marks);
    else void this.reload(false); // the first mark starts it; without marks it stops
  }

  /** The progress notification of a move about to start; its Cancel aborts that move alone. */
  private showMove(move: PlannedMove): { signal: AbortSignal; onProgress: (p: MigrationProgress) => void } {
    const abort = new AbortController();
    let report = (_message: string) => {};
    const ended = new Promise<void>((end) => (this.moving = { move, end }));
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: movingTitle(move), cancellable: true }, (progress, token) => {
      report = (message) => progress.report({ message });
      const onCancel = token.onCancellationRequested(() => {
        this.deps.log.warn(`Policy ${move.rule}: the move of PID ${move.pid} on ${move.host} was cancelled by the user`);
        abort.abort();
      });
      return ended.finally(() => onCancel.dispose());
    });
    return {
      signal: abort.signal,
      onProgress: (p) => {
        this.deps.log.info(`[${p.phase}] ${p.message}`);
        report(`${phaseInfo(p.phase)?.label ?? p.phase}: ${p.message}`);
      },
    };
  }

  private async handle(event: WatchEvent): Promise<void> {
    const { log, marks } = this.deps;
    for (const listener of [...this.listeners]) listener(event);
    if (event.event === 'not-moved') log.warn(`Policies: ${event.message}`);
    else log.info(`Policies: ${event.message}`);
    const move = this.moving?.move;
    const ends = (event.event === 'moved' || event.event === 'not-moved') && move && event.host === move.host && event.pid === move.pid;
    if (ends) {
      this.moving?.end();
      this.moving = undefined;
      const result = event.result ?? notStartedResult({ pid: move.pid, from: move.host, to: 'auto' }, event.message, { trigger: move.reason, rolledBack: true });
      if (event.event === 'moved' && result.destinationPid !== undefined) {
        const seen = this.running?.watcher.marked.find((m) => 'pid' in m && m.host === result.to && m.pid === result.destinationPid);
        await marks.moved({ host: move.host, pid: move.pid }, { host: result.to, pid: result.destinationPid, ...(seen && 'seen' in seen && seen.seen ? { seen: seen.seen } : {}) });
      }
      await this.record(move, result);
    } else if (event.event === 'forgotten' && event.host && event.pid !== undefined) {
      await marks.disallow([{ host: event.host, pid: event.pid }]);
    }
  }

  /** Into the history (and so the report) with its trigger, then the notification. */
  private async record(move: PlannedMove, result: MigrationResult): Promise<void> {
    const { first } = await recordBatch(this.deps, [{ result, name: move.name }], {});
    void this.deps.model.refresh([move.host, ...(result.ok ? [result.to] : [])]);
    const text = moveOutcomeText(move, result);
    void (result.ok ? vscode.window.showInformationMessage(text, SHOW_REPORT) : vscode.window.showWarningMessage(text, SHOW_REPORT)).then(
      (choice) => choice === SHOW_REPORT && vscode.commands.executeCommand(Commands.ShowReport, first),
    );
  }

  dispose(): void {
    // A move under way rolls back: the process runs on where it was.
    this.running?.stop.abort();
    this.moving?.end();
    for (const s of this.subscriptions) s.dispose();
  }
}

/** Starts the policies of the setting; the runner is disposed with the extension. */
export function registerPolicies(context: vscode.ExtensionContext, deps: PolicyDeps): PolicyRunner {
  const runner = new PolicyRunner(deps);
  context.subscriptions.push(runner);
  void runner.reload(true);
  return runner;
}
