// Allow / Disallow Automatic Moves on a process row, and the `processMigrator.policies` setting
// run inside the extension by the engine's policy module (watchPolicy, src/migration/automatic/watch.ts):
// only marked processes are ever moved; each automatic move runs in a notification with Cancel
// and lands in the history and the report with its trigger; a dry run only says what it would do.
import * as vscode from 'vscode';
import type { MigrateOptions, MigrationRequest, MigrationResult, PolicyMove } from '../../migration/api';
import { Commands, fullSettingKey, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { destinationText } from '../migrate/migrate';
import type { MigrationDeps } from '../migrate/migrationDeps';
import { SHOW_REPORT, withMigrationProgress } from '../migrate/migrationProgress';
import { errorMessage } from '../view/processModel';
import { processRefOf } from '../view/processRefs';
import type { AutoMarks } from './autoMarks';
import { policyFromSettings, type PolicyEngine } from './policySettings';

export interface AutomaticDeps extends MigrationDeps {
  marks: AutoMarks;
  /** The engine's policy module; undefined in a build without one. */
  policyEngine?: PolicyEngine;
}

export function registerAutomaticMoves(context: vscode.ExtensionContext, deps: AutomaticDeps): void {
  const mark = (allow: boolean) => async (source?: unknown) => {
    const ref = processRefOf(source);
    if (!ref) {
      void vscode.window.showWarningMessage(`Run "${allow ? 'Allow' : 'Disallow'} Automatic Moves" on a process row of the Processes view.`);
      return;
    }
    const name = deps.model.findProcess(ref.host, ref.pid)?.name;
    if (allow) await deps.marks.allow(ref.host, ref.pid, name);
    else await deps.marks.disallow(ref.host, ref.pid);
    deps.log.info(`${allow ? 'Allowed' : 'Disallowed'} automatic moves of ${name ?? 'process'} (PID ${ref.pid}) on ${ref.host}`);
    if (allow && !policyFromSettings(readSetting(config(), 'policies'), [])) {
      void vscode.window.showInformationMessage(
        `${name ?? `PID ${ref.pid}`} may now move automatically, but no rule would move it yet: add rules to the processMigrator.policies setting.`,
      );
    }
  };

  let watch: AbortController | undefined;
  let toldMissing = false;
  const restart = () => {
    watch?.abort(); // a move under way rolls back
    watch = undefined;
    const run = policyFromSettings(readSetting(config(), 'policies'), deps.marks.list());
    if (!run) return;
    if (!deps.policyEngine) {
      if (!toldMissing) void vscode.window.showWarningMessage('processMigrator.policies has rules, but this build has no policy engine: no process is moved automatically.');
      toldMissing = true;
      return;
    }
    let policy;
    try {
      policy = deps.policyEngine.parsePolicy(run.policy, 'processMigrator.policies');
    } catch (err) {
      void vscode.window.showWarningMessage(`${errorMessage(err)} No process is moved automatically until it is fixed.`);
      return;
    }
    const abort = new AbortController();
    watch = abort;
    deps.log.info(`Policies${run.dryRun ? ' (dry run)' : ''}: ${policy.rules.length} rule(s), ${policy.marked.length} marked`);
    const engine = {
      hostStates: deps.engine.hostStates?.bind(deps.engine),
      listProcesses: (host: string) => deps.engine.listProcesses(host),
      migrate: async (request: MigrationRequest, options?: MigrateOptions) => movingNotification(deps, request, options?.signal),
    };
    void deps.policyEngine
      .watchPolicy(engine, policy, {
        dryRun: run.dryRun,
        signal: abort.signal,
        onEvent: (event) => (event.kind === 'would-move' ? wouldMove(deps, event.move) : void moved(deps, event.move, event.result)),
        onProblem: (sentence) => deps.log.warn(`[policy] ${sentence}`),
      })
      .catch((err) => {
        deps.log.error(`[policy] stopped: ${errorMessage(err)}`);
        void vscode.window.showErrorMessage(`The policies stopped: ${errorMessage(err)}`);
      });
  };

  // Marks of an earlier window whose processes ended go once each host is first listed (later,
  // a process just moved would look ended before its mark follows it).
  const pruned = new Set<string>();
  const prune = deps.model.onDidChange((host) => {
    const processes = host !== undefined ? deps.model.host(host)?.processes : undefined;
    if (!host || !processes || pruned.has(host)) return;
    pruned.add(host);
    void deps.marks.prune((h) => (h === host ? new Map(processes.map((p) => [p.pid, p.name])) : undefined));
  });

  context.subscriptions.push(
    prune,
    vscode.commands.registerCommand(Commands.AllowAutomaticMoves, mark(true)),
    vscode.commands.registerCommand(Commands.DisallowAutomaticMoves, mark(false)),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(fullSettingKey('policies')) && restart()),
    // The user's say changes what may move; a move (the watch follows it itself) does not.
    deps.marks.onDidChange((change) => (change === 'allow' || change === 'disallow') && restart()),
    { dispose: () => watch?.abort() },
  );
  restart();
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SETTINGS_SECTION);
}

/** The move itself, in a notification with Cancel (which rolls it back). */
function movingNotification(deps: AutomaticDeps, request: MigrationRequest, signal?: AbortSignal): Thenable<MigrationResult> {
  const name = deps.model.findProcess(request.from, request.pid)?.name ?? 'process';
  return withMigrationProgress(
    deps.log,
    `${name} (PID ${request.pid}) automatically`,
    destinationText(request.to),
    { signal },
    (engineOptions) => deps.engine.migrate(request, engineOptions),
    (error) => ({ ok: false, from: request.from, to: request.to, sourcePid: request.pid, strategy: 'stop-and-copy', strategyReason: 'The engine stopped before choosing.', phases: {}, freezeMs: 0, totalMs: 0, bytes: 0, options: [], startedAt: new Date().toISOString(), error }),
  );
}

/** After an automatic move: the history and the report with its trigger, the mark follows, one notification. */
async function moved(deps: AutomaticDeps, move: PolicyMove, result: MigrationResult): Promise<void> {
  result.trigger ??= move.trigger;
  const entry = await deps.history.add(result, move.name);
  if (result.ok && result.destinationPid !== undefined) await deps.marks.moved({ host: move.host, pid: move.pid }, { host: result.to, pid: result.destinationPid });
  void deps.model.refresh([move.host, result.to]);
  const what = `${move.name} (PID ${move.pid})`;
  const show = (choice: string | undefined) => choice === SHOW_REPORT && vscode.commands.executeCommand(Commands.ShowReport, entry.id);
  if (result.ok) {
    deps.log.info(`[policy] moved ${what} from ${move.host} to ${result.to} as PID ${result.destinationPid ?? '?'}: ${move.trigger}`);
    void vscode.window.showInformationMessage(`Moved ${what} automatically from ${move.host} to ${result.to}: ${move.trigger}`, SHOW_REPORT).then(show);
  } else {
    deps.log.error(`[policy] moving ${what} failed: ${result.error ?? 'no reason given'}`);
    void vscode.window.showWarningMessage(`An automatic move of ${what} failed and it keeps running on ${move.host}: ${result.error ?? 'no reason given'}`, SHOW_REPORT).then(show);
  }
}

function wouldMove(deps: AutomaticDeps, move: PolicyMove): void {
  const sentence = `Dry run: would move ${move.name} (PID ${move.pid}) from ${move.host} to ${destinationText(move.to)}: ${move.trigger}`;
  deps.log.info(`[policy] ${sentence}`);
  void vscode.window.showInformationMessage(sentence);
}
