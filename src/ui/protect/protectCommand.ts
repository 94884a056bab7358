// Protect…: a process row (or a picked process) is checkpointed to a standby host at an
// interval while it runs on, and restored there when its host is lost (src/automatic/protect.ts).
// Each protection shows as a status bar item (its newest checkpoint's age and freeze; click to
// stop); a failover asks first unless the user chose automatic, and its numbers are a
// notification and a log line.
import * as vscode from 'vscode';
import type { Engine } from '../../migration/api';
import { Commands } from '../common/contributions';
import { pickProcess } from '../migrate/migrate';
import type { ProcessModel } from '../view/processModel';
import { processRefOf, type ProcessRef } from '../view/processRefs';
import { describeProtectEvent, protect, type ProtectEvent, type ProtectRequest } from '../../automatic/protect';

export interface ProtectDeps {
  engine: Engine;
  model: ProcessModel;
  log: vscode.LogOutputChannel;
}

/** Extra arguments for callers other than the UI (tests). */
export interface ProtectCommandOptions {
  standby?: string;
  everyS?: number;
  failover?: 'ask' | 'auto';
  lostAfterS?: number;
  /** Answers the failover's and the returned copy's questions in place of the user. */
  confirm?: (question: string) => Promise<boolean>;
  onEvent?: (event: ProtectEvent) => void;
}

interface Running {
  ref: ProcessRef;
  standby: string;
  stop: AbortController;
  item: vscode.StatusBarItem;
  done: Promise<void>;
}

const INTERVALS = [
  { label: '30 seconds', seconds: 30 },
  { label: '1 minute', seconds: 60 },
  { label: '5 minutes', seconds: 300 },
  { label: '15 minutes', seconds: 900 },
];

export function registerProtect(context: vscode.ExtensionContext, deps: ProtectDeps): void {
  const running = new Map<string, Running>();
  const key = (ref: ProcessRef) => `${ref.host}:${ref.pid}`;

  const start = async (source?: unknown, options: ProtectCommandOptions = {}): Promise<Running | undefined> => {
    const protection = deps.engine.protection;
    if (!protection) return undefined;
    const ref = processRefOf(source) ?? (await pickProcess(deps.model));
    if (!ref) return undefined;
    if (running.has(key(ref))) {
      void vscode.window.showInformationMessage(`PID ${ref.pid} on ${ref.host} is protected already; click its shield in the status bar to stop.`);
      return undefined;
    }
    const standby = options.standby ?? (await pickStandby(deps.model, ref.host));
    const everyS = options.everyS ?? (await pickInterval());
    if (!standby || !everyS) return undefined;
    const failover = options.failover ?? (await pickFailover(ref.host));
    if (!failover) return undefined;
    const request: ProtectRequest = { pid: ref.pid, from: ref.host, standby, everyS, failover, lostAfterS: options.lostAfterS ?? Math.max(60, 2 * everyS) };

    const stop = new AbortController();
    const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
    item.text = `$(shield) ${ref.pid} → ${standby}: first checkpoint…`;
    item.command = { title: 'Stop Protecting', command: Commands.StopProtecting, arguments: [ref] };
    item.show();
    const onEvent = (event: ProtectEvent) => {
      const line = describeProtectEvent(event);
      deps.log.info(`Protect ${ref.pid}@${ref.host}: ${line}`);
      options.onEvent?.(event);
      if (event.event === 'checkpoint' && event.ok) {
        item.text = `$(shield) ${ref.pid} → ${standby}`;
        item.tooltip = `Protected on ${standby}: checkpoint of ${new Date(event.at).toLocaleTimeString()}, frozen ${event.freezeMs} ms. Click to stop protecting.`;
      } else if (event.event === 'checkpoint' || (event.event === 'failover' && !event.ok)) {
        void vscode.window.showWarningMessage(line);
      } else if (event.event === 'failover' || event.event === 'returned' || event.event === 'ended') {
        void vscode.window.showInformationMessage(line);
        void deps.model.refresh();
      }
    };
    const confirm = options.confirm ?? ((question: string) => askModal(question));
    const done = protect({ protection, onEvent, confirm }, request, stop.signal)
      .catch((err: unknown) => void vscode.window.showErrorMessage(`Protecting PID ${ref.pid} on ${ref.host} stopped: ${(err as Error).message}`))
      .finally(() => {
        item.dispose();
        running.delete(key(ref));
      });
    const entry = { ref, standby, stop, item, done };
    running.set(key(ref), entry);
    return entry;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.Protect, async (source?: unknown, options?: ProtectCommandOptions) => {
      const entry = await start(source, options);
      return entry ? { host: entry.ref.host, pid: entry.ref.pid, standby: entry.standby } : undefined;
    }),
    vscode.commands.registerCommand(Commands.StopProtecting, async (source?: unknown) => {
      const ref = processRefOf(source) ?? (await pickRunning([...running.values()]));
      const entry = ref && running.get(key(ref));
      if (!entry) return;
      entry.stop.abort();
      await entry.done;
      deps.log.info(`Protect ${entry.ref.pid}@${entry.ref.host}: stopped; its checkpoints on ${entry.standby} are deleted`);
    }),
    { dispose: () => running.forEach((r) => r.stop.abort()) },
  );
}

async function pickStandby(model: ProcessModel, from: string): Promise<string | undefined> {
  const hosts = model.hostNames().filter((h) => h !== from);
  if (!hosts.length) {
    void vscode.window.showWarningMessage('There is no other host to keep checkpoints on: add one with "Process Migrator: Add Host…".');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    hosts.map((host) => ({ label: host })),
    { title: 'Protect: the standby host', placeHolder: 'Where the checkpoints are kept, and the process restored if its host is lost' },
  );
  return pick?.label;
}

async function pickInterval(): Promise<number | undefined> {
  const pick = await vscode.window.showQuickPick(
    INTERVALS.map((i) => ({ label: i.label, seconds: i.seconds })),
    { title: 'Protect: checkpoint every…', placeHolder: 'Each checkpoint freezes the process briefly; a failover loses the work since the last one' },
  );
  return pick?.seconds;
}

async function pickFailover(from: string): Promise<'ask' | 'auto' | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Ask me first', description: 'default', mode: 'ask' as const },
      { label: 'Restore at once', description: `as soon as ${from} is lost`, mode: 'auto' as const },
    ],
    { title: `Protect: when ${from} is lost` },
  );
  return pick?.mode;
}

async function askModal(question: string): Promise<boolean> {
  return (await vscode.window.showWarningMessage(question, { modal: true }, 'Yes')) === 'Yes';
}

async function pickRunning(entries: Running[]): Promise<ProcessRef | undefined> {
  const pick = await vscode.window.showQuickPick(
    entries.map((e) => ({ label: `${e.ref.pid} on ${e.ref.host}`, description: `standby ${e.standby}`, ref: e.ref })),
    { title: 'Stop protecting' },
  );
  return pick?.ref;
}
