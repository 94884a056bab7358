// Bring Back: migrates a process that arrived by a migration back to the host it came from, and
// removes its port forwards. The forwards stop first (the restore on the origin needs the ports
// back); if the move back fails the process keeps running where it is and they start again.
import * as vscode from 'vscode';
import type { MigrationResult } from '../../migration/api';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import type { HistoryEntry } from '../report/history';
import { runMigration } from './migrate';
import type { MigrateCommandOptions, MigrationDeps } from './migrationDeps';
import type { PortForwards } from '../forwards/portForwards';
import { processRefOf, type ProcessRef } from '../view/processRefs';

export interface BringBackDeps extends MigrationDeps {
  forwards: PortForwards;
}

/** `processMigrator.bringBack`: (process row or `{host, pid}`?, options?). Without a process, a
 * picker lists the migrated processes still running where they went. */
export function registerBringBack(context: vscode.ExtensionContext, deps: BringBackDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.BringBack, async (source?: unknown, options: MigrateCommandOptions = {}) => {
      const ref = processRefOf(source) ?? (await pickArrived(deps));
      if (!ref) return undefined;
      const entry = deps.history.arrivedAt(ref.host, ref.pid);
      if (!entry) {
        void vscode.window.showWarningMessage(
          `PID ${ref.pid} on ${ref.host} did not arrive there by a migration from this workspace: use "Migrate to…" to move it.`,
        );
        return undefined;
      }
      return bringBack(deps, ref, entry, options);
    }),
  );
}

export async function bringBack(deps: BringBackDeps, ref: ProcessRef, entry: HistoryEntry, options: MigrateCommandOptions = {}): Promise<MigrationResult> {
  const home = entry.result.from;
  const strategy = options.strategy ?? readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
  const [result] = await withForwardsStopped(deps, home, [ref], async () => [
    await runMigration(deps, { pid: ref.pid, from: ref.host, to: home, strategy }, { ...options, forwardPorts: false }),
  ]);
  return result;
}

/** Stops the port forwards to the processes `refs` (coming back, they listen at `home` again),
 * runs `move`, then forwards again the ports of those that did not move: they still run where
 * they were, and their ports keep answering at home as before. */
export async function withForwardsStopped<T extends MigrationResult>(
  deps: BringBackDeps,
  home: string,
  refs: readonly ProcessRef[],
  move: () => Promise<T[]>,
): Promise<T[]> {
  const stopped = (await Promise.all(refs.map((r) => deps.forwards.stopFor(r.host, r.pid)))).flat();
  if (stopped.length) deps.log.info(`Bring Back: stopped forwarding ${stopped.map((s) => s.port).join(', ')} on ${home} so the processes can listen there again`);
  const results = await move();
  const moved = new Set(results.filter((r) => r.ok).map((r) => `${r.from}:${r.sourcePid}`));
  for (const spec of stopped) if (!moved.has(`${spec.destination}:${spec.pid}`)) await deps.forwards.forward(spec);
  return results;
}

interface ArrivedPick extends vscode.QuickPickItem {
  ref: ProcessRef;
}

/** The processes that arrived by a migration and still run there (checked on each host). */
async function pickArrived(deps: BringBackDeps): Promise<ProcessRef | undefined> {
  const arrived = deps.history.arrived();
  const hosts = [...new Set(arrived.map((e) => e.result.to))];
  await Promise.all(hosts.map((h) => deps.model.loadProcesses(h, true)));
  const items: ArrivedPick[] = arrived
    .filter((e) => {
      const p = deps.model.findProcess(e.result.to, e.result.destinationPid!);
      return p && (!e.name || e.name === p.name);
    })
    .map((e) => {
      const r = e.result;
      const ports = deps.forwards.forProcess(r.to, r.destinationPid!).map((f) => f.port);
      return {
        label: `${e.name ?? 'process'} (PID ${r.destinationPid})`,
        description: `on ${r.to} · back to ${r.from}`,
        detail: `Moved ${new Date(r.startedAt).toLocaleString()}${ports.length ? ` · forwarding localhost:${ports.join(', :')}` : ''}`,
        ref: { host: r.to, pid: r.destinationPid! },
      };
    });
  if (items.length === 0) {
    void vscode.window.showInformationMessage('No migrated process is running where it went: there is nothing to bring back.');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'Bring Back', placeHolder: 'The process to move back to where it came from' }))?.ref;
}
