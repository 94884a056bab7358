// Protect… a process: periodic checkpoints onto a standby host (Engine.protect), shown on the row
// and in a status bar item; when its host is lost the user is asked before it is restored on the
// standby, and asked which copy to keep when the old host comes back. Stop Protecting ends it.
import * as vscode from 'vscode';
import type { Protection, ProtectionCheckpoint, ProtectionEvent, ProtectRequest } from '../../migration/api';
import { Commands } from '../common/contributions';
import { engineSupports, MISSING_CAPABILITY } from '../hosts/engineHost';
import type { MigrationDeps } from '../migrate/migrationDeps';
import { SHOW_REPORT } from '../migrate/migrationProgress';
import { errorMessage } from '../view/processModel';
import { processRefOf, type ProcessRef } from '../view/processRefs';
import { failoverQuestion, failoverResult, failoverSummary, protectionText, survivorQuestion } from './protectText';

export interface ProtectCommandOptions {
  standby?: string;
  everySeconds?: number;
  failover?: 'ask' | 'auto';
  lostAfterSeconds?: number;
  /** Answers the failover question in place of the user (tests). */
  answerFailover?: boolean;
  /** Answers which copy to keep in place of the user (tests). */
  answerSurvivor?: 'old' | 'standby';
}

interface Protected {
  ref: ProcessRef;
  name: string;
  standby: string;
  protection: Protection;
  last?: ProtectionCheckpoint;
}

/** The protections of this window, keyed `host:pid`. */
export class Protections implements vscode.Disposable {
  private readonly active = new Map<string, Protected>();
  private readonly listeners = new Set<() => void>();
  private readonly status = vscode.window.createStatusBarItem('processMigrator.protection', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.status.name = 'Process Migrator: protected processes';
    this.status.command = Commands.StopProtecting;
  }

  describe(host: string, pid: number): string | undefined {
    const p = this.active.get(`${host}:${pid}`);
    return p && protectionText(p.standby, p.last);
  }

  list(): readonly Protected[] {
    return [...this.active.values()];
  }

  get(ref: ProcessRef): Protected | undefined {
    return this.active.get(`${ref.host}:${ref.pid}`);
  }

  add(p: Protected): void {
    this.active.set(`${p.ref.host}:${p.ref.pid}`, p);
    this.changed();
  }

  checkpoint(ref: ProcessRef, last: ProtectionCheckpoint): void {
    const p = this.get(ref);
    if (!p) return;
    p.last = last;
    this.changed();
  }

  remove(ref: ProcessRef): void {
    if (this.active.delete(`${ref.host}:${ref.pid}`)) this.changed();
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private changed(): void {
    const all = this.list();
    if (all.length === 0) this.status.hide();
    else {
      this.status.text = `$(shield) ${all.length === 1 ? `${all[0].name}: ${protectionText(all[0].standby, all[0].last)}` : `${all.length} protected`}`;
      this.status.tooltip = all.map((p) => `${p.name} (PID ${p.ref.pid}) on ${p.ref.host}: ${protectionText(p.standby, p.last)}`).join('\n') + '\n\nClick to stop protecting.';
      this.status.show();
    }
    for (const l of [...this.listeners]) l();
  }

  dispose(): void {
    for (const p of this.active.values()) void p.protection.stop().catch(() => undefined);
    this.active.clear();
    this.status.dispose();
  }
}

export interface ProtectDeps extends MigrationDeps {
  protections: Protections;
}

/** `processMigrator.protect`: (process row or `{host, pid}`, options?) resolves to true once
 * protection runs; `processMigrator.stopProtecting`: (row or ref?) ends it. */
export function registerProtection(context: vscode.ExtensionContext, deps: ProtectDeps): void {
  context.subscriptions.push(
    deps.protections,
    vscode.commands.registerCommand(Commands.Protect, (source?: unknown, options: ProtectCommandOptions = {}) => protect(deps, processRefOf(source), options)),
    vscode.commands.registerCommand(Commands.StopProtecting, async (source?: unknown) => {
      const ref = processRefOf(source) ?? (await pickProtected(deps.protections));
      const p = ref && deps.protections.get(ref);
      if (!p) return false;
      await p.protection.stop();
      deps.protections.remove(p.ref);
      deps.log.info(`Stopped protecting ${p.name} (PID ${p.ref.pid}) on ${p.ref.host}; its checkpoints on ${p.standby} are deleted`);
      return true;
    }),
  );
}

async function protect(deps: ProtectDeps, ref: ProcessRef | undefined, options: ProtectCommandOptions): Promise<boolean> {
  if (!engineSupports(deps.engine, 'protect')) {
    void vscode.window.showWarningMessage(MISSING_CAPABILITY.protect);
    return false;
  }
  if (!ref) {
    void vscode.window.showWarningMessage('Run "Protect…" on a process row of the Processes view.');
    return false;
  }
  if (deps.protections.get(ref)) {
    void vscode.window.showInformationMessage(`PID ${ref.pid} on ${ref.host} is already ${deps.protections.describe(ref.host, ref.pid)}.`);
    return false;
  }
  const name = deps.model.findProcess(ref.host, ref.pid)?.name ?? `PID ${ref.pid}`;
  const standby =
    options.standby ??
    (await vscode.window.showQuickPick(
      deps.model.hostNames().filter((h) => h !== ref.host),
      { title: `Protect ${name}: the standby host`, placeHolder: 'Checkpoints are kept there, and the process is restored there if its host is lost' },
    ));
  if (!standby) return false;
  const everySeconds = options.everySeconds ?? (await askInterval(name));
  if (!everySeconds) return false;

  const failover = options.failover ?? (await askFailover(ref.host, standby));
  if (!failover) return false;
  const request: ProtectRequest = { pid: ref.pid, from: ref.host, standby, everySeconds, failover, lostAfterSeconds: options.lostAfterSeconds };
  let protection: Protection;
  try {
    protection = deps.engine.protect!(request, {
      onEvent: (event) => void onEvent(deps, ref, name, event),
      confirmFailover: async (lost) => {
        const question = failoverQuestion(lost, name);
        deps.log.warn(question);
        if (options.answerFailover !== undefined) return options.answerFailover;
        return (await vscode.window.showWarningMessage(question, { modal: true }, 'Restore')) === 'Restore';
      },
      chooseSurvivor: async (both) => {
        const question = survivorQuestion(both, name);
        deps.log.warn(question);
        if (options.answerSurvivor) return options.answerSurvivor;
        const keepOld = `Keep the one on ${both.host}`;
        const keepStandby = `Keep the one on ${both.standby}`;
        // Never two running copies without the user's say: ask until answered.
        for (;;) {
          const choice = await vscode.window.showWarningMessage(question, { modal: true }, keepOld, keepStandby);
          if (choice === keepOld) return 'old';
          if (choice === keepStandby) return 'standby';
        }
      },
    });
  } catch (err) {
    void vscode.window.showErrorMessage(`Protecting ${name} failed: ${errorMessage(err)}`);
    return false;
  }
  deps.protections.add({ ref, name, standby, protection });
  deps.log.info(`Protecting ${name} (PID ${ref.pid}) on ${ref.host}: a checkpoint every ${everySeconds} s onto ${standby}`);
  void protection.done
    .then(() => {
      // The engine may say why it ended (the process exited, the standby's disk filled…).
      const why = protection.endReason;
      if (why) {
        deps.log.info(`Protection of ${name} ended: ${why}`);
        void vscode.window.showInformationMessage(`Protection of ${name} ended: ${why}`);
      }
    })
    .catch((err) => {
      // It could not start (the preflight refused the standby, its disk cannot hold the checkpoints).
      deps.log.error(`Protection of ${name} ended: ${errorMessage(err)}`);
      void vscode.window.showErrorMessage(`Protecting ${name} stopped: ${errorMessage(err)}`);
    })
    .finally(() => deps.protections.remove(ref));
  return true;
}

async function onEvent(deps: ProtectDeps, ref: ProcessRef, name: string, event: ProtectionEvent): Promise<void> {
  if (event.kind === 'checkpoint') {
    const failed = event.error;
    if (failed) {
      // The previous checkpoint stays the newest: the row keeps showing it.
      deps.log.warn(`Checkpoint ${event.generation} of ${name} failed: ${failed}`);
      return;
    }
    deps.log.info(`Checkpoint ${event.generation} of ${name} at ${event.at}: frozen ${event.freezeMs} ms, ${event.bytes} bytes`);
    deps.protections.checkpoint(ref, event);
    return;
  }
  const result = failoverResult(event, ref.pid, new Date().toISOString());
  const entry = await deps.history.add(result, name);
  if (event.ok && event.destinationPid !== undefined) await deps.marks?.moved(ref, { host: event.standby, pid: event.destinationPid });
  void deps.model.refresh([event.host, event.standby]);
  const summary = failoverSummary(event, name);
  const show = (choice: string | undefined) => choice === SHOW_REPORT && vscode.commands.executeCommand(Commands.ShowReport, entry.id);
  if (event.ok) {
    deps.log.info(summary);
    void vscode.window.showInformationMessage(summary, SHOW_REPORT).then(show);
  } else {
    deps.log.error(summary);
    void vscode.window.showErrorMessage(summary, SHOW_REPORT).then(show);
  }
}

async function askInterval(name: string): Promise<number | undefined> {
  const value = await vscode.window.showInputBox({
    title: `Protect ${name}: checkpoint every…`,
    prompt: 'Seconds between checkpoints: the work lost on a failover is at most this much',
    value: '60',
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 5 ? undefined : 'A whole number of seconds, at least 5.'),
  });
  return value ? Number(value.trim()) : undefined;
}

/** Asking first is the default: automatic failover is opt-in. */
async function askFailover(host: string, standby: string): Promise<'ask' | 'auto' | undefined> {
  const items: (vscode.QuickPickItem & { failover: 'ask' | 'auto' })[] = [
    { label: 'Ask me before restoring', description: `when ${host} stops answering`, failover: 'ask' },
    { label: 'Restore automatically', description: `on ${standby}, without asking`, failover: 'auto' },
  ];
  return (await vscode.window.showQuickPick(items, { title: `If ${host} is lost…` }))?.failover;
}

async function pickProtected(protections: Protections): Promise<ProcessRef | undefined> {
  const items = protections.list().map((p) => ({ label: `${p.name} (PID ${p.ref.pid})`, description: `on ${p.ref.host} · ${protectionText(p.standby, p.last)}`, ref: p.ref }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage('No process is protected in this window.');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'Stop Protecting' }))?.ref;
}
