// Allow / Disallow Automatic Moves on a process row, and the policies of the settings run by the
// engine's policy module (src/migration/watch.ts) inside the extension: only marked processes are
// ever moved; each automatic move runs as a cancellable notification and lands in the history and
// the report with its trigger.
import * as vscode from 'vscode';
import type { Engine, MigrationRequest, MigrationResult } from '../../migration/api';
import { Commands, fullSettingKey, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { runMigration } from '../migrate/migrate';
import type { MigrationDeps } from '../migrate/migrationDeps';
import { processRefOf } from '../view/processRefs';
import type { AutoMarks } from './autoMarks';
import { readPolicies, type CompletePolicyRule } from './policySettings';

/** What the extension hands the engine's policy watcher, and gets back. */
export interface PolicyWatchOptions {
  engine: Engine;
  rules: CompletePolicyRule[];
  /** The hosts of the view (a rule on `*` watches them all). */
  hosts: () => string[];
  /** Only these may be moved. */
  isMarked: (host: string, pid: number, name?: string) => boolean;
  /** Runs one automatic move (notification with Cancel, history, report); `trigger` says why. */
  move: (request: MigrationRequest, trigger: string) => Promise<MigrationResult>;
  /** A dry run's "would move …" sentence, and other lines for the log. */
  log: (line: string) => void;
}

export interface PolicyWatch {
  stop(): void | Promise<void>;
}

export type StartPolicyWatch = (options: PolicyWatchOptions) => PolicyWatch;

export interface AutomaticDeps extends MigrationDeps {
  marks: AutoMarks;
  /** The engine's policy watcher; undefined in a build without one. */
  startPolicyWatch?: StartPolicyWatch;
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
    if (allow && readPolicies(readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'policies')).rules.length === 0) {
      void vscode.window.showInformationMessage(
        `${name ?? `PID ${ref.pid}`} may now move automatically, but no rule would move it yet: add one to the processMigrator.policies setting.`,
      );
    }
  };

  let watch: PolicyWatch | undefined;
  const restart = () => {
    void watch?.stop();
    watch = undefined;
    const { rules, problems } = readPolicies(readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'policies'));
    for (const problem of problems) void vscode.window.showWarningMessage(problem);
    if (rules.length === 0) return;
    if (!deps.startPolicyWatch) {
      void vscode.window.showWarningMessage(
        `processMigrator.policies has ${rules.length} rule(s), but this build has no policy engine: no process is moved automatically.`,
      );
      return;
    }
    deps.log.info(`Policies: ${rules.map((r) => `${r.name}${r.dryRun ? ' (dry run)' : ''}`).join('; ')}`);
    watch = deps.startPolicyWatch({
      engine: deps.engine,
      rules,
      hosts: () => deps.model.hostNames(),
      isMarked: (host, pid, name) => deps.marks.isMarked(host, pid, name),
      move: (request, trigger) => automaticMove(deps, request, trigger),
      log: (line) => deps.log.info(`[policy] ${line}`),
    });
  };

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.AllowAutomaticMoves, mark(true)),
    vscode.commands.registerCommand(Commands.DisallowAutomaticMoves, mark(false)),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(fullSettingKey('policies')) && restart()),
    { dispose: () => void watch?.stop() },
  );
  restart();
}

/** One automatic move: refused unless marked; otherwise a migration like the user's own (its
 * notification has Cancel), with the trigger in the history and the report. */
export async function automaticMove(deps: AutomaticDeps, request: MigrationRequest, trigger: string): Promise<MigrationResult> {
  const name = deps.model.findProcess(request.from, request.pid)?.name;
  if (!deps.marks.isMarked(request.from, request.pid, name)) {
    throw new Error(`PID ${request.pid} on ${request.from} is not allowed to move automatically: mark it with "Allow Automatic Moves" first.`);
  }
  return runMigration(deps, request, { trigger });
}
