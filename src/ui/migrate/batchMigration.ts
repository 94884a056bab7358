// Several selected (or dropped) processes moved in one request (engine `migrateMany`: all
// prepared, then frozen a few at a time): one cancellable progress, one history entry per process sharing a
// batch id so the report shows them together, one notification.
import * as vscode from 'vscode';
import type { BatchRequest, BatchResult, MigrationResult } from '../../migration/api';
import { Commands } from '../common/contributions';
import type { EntryDetails, ForwardRecord } from '../report/history';
import type { MigrateCommandOptions, MigrationDeps } from './migrationDeps';
import { SHOW_LOG, SHOW_REPORT, withMigrationProgress } from './migrationProgress';
import { forwardPortsEnabled } from '../forwards/forwardCommand';

export async function runBatchMigration(
  deps: MigrationDeps,
  request: BatchRequest,
  options: Pick<MigrateCommandOptions, 'signal' | 'onProgress' | 'forwardPorts'> = {},
): Promise<BatchResult> {
  const { engine, model, log } = deps;
  const names = new Map(request.pids.map((pid) => [pid, model.findProcess(request.from, pid)?.name]));
  const what = `${request.pids.length} processes`;
  log.info(`Migrating ${what} (PIDs ${request.pids.join(', ')}) from ${request.from} to ${request.to} (strategy ${request.strategy ?? 'auto'})`);

  const batch = await withMigrationProgress(
    log,
    what,
    request.to,
    options,
    (engineOptions) => engine.migrateMany(request, engineOptions),
    (error) => failedBatch(request, error),
  );

  const batchId = `${new Date().toISOString()}|${request.from}|${request.pids.join(',')}`;
  const { first, forwarded } = await recordBatch(
    deps,
    batch.processes.map((result) => ({ result, name: names.get(result.sourcePid) })),
    { batchId, requestedStrategy: request.strategy, forwardPorts: options.forwardPorts },
  );
  void model.refresh([request.from, request.to]);

  const moved = batch.processes.filter((p) => p.ok).length;
  const ports = forwarded.length ? ` Forwarding localhost:${forwarded.map((f) => f.port).join(', :')} from ${request.from}.` : '';
  if (batch.ok) {
    void vscode.window
      .showInformationMessage(`Migrated ${moved} processes to ${request.to} together (frozen ${batch.freezeMs} ms at most).${ports}`, SHOW_REPORT)
      .then((choice) => choice === SHOW_REPORT && vscode.commands.executeCommand(Commands.ShowReport, first));
  } else {
    const summary = moved ? `${moved} of ${batch.processes.length} processes moved to ${request.to}; the others kept running on ${request.from}. ` : '';
    void vscode.window.showErrorMessage(`${summary}${batch.error ?? `Migrating ${what} failed.`}`, SHOW_LOG, SHOW_REPORT).then((choice) => {
      if (choice === SHOW_LOG) log.show(true);
      else if (choice === SHOW_REPORT) void vscode.commands.executeCommand(Commands.ShowReport, first);
    });
  }
  return batch;
}

export interface BatchMember {
  result: MigrationResult;
  name?: string;
  /** Left by its batch, never frozen (an evacuation could not move it). */
  left?: boolean;
}

/** Adds one history entry per member, in order, sharing `batchId` (the report shows them
 * together), forwards the ports of those that moved, and logs each outcome. */
export async function recordBatch(
  deps: MigrationDeps,
  members: readonly BatchMember[],
  { forwardPorts, ...details }: Pick<EntryDetails, 'batchId' | 'batchLabel' | 'requestedStrategy'> & { forwardPorts?: boolean },
): Promise<{ first?: string; forwarded: ForwardRecord[] }> {
  const forwarded: ForwardRecord[] = [];
  let first: string | undefined;
  // Added in order: `history.batchOf` gives them back in that order.
  for (const { result, name, left } of members) {
    const forward = !left && deps.forwards && (forwardPorts ?? forwardPortsEnabled());
    const forwards = forward ? await deps.forwards!.afterMigration(result, name) : undefined;
    forwarded.push(...(forwards ?? []).filter((f) => !f.error));
    const entry = await deps.history.add(result, name, { ...details, forwards, ...(left ? { left } : {}) });
    first ??= entry.id;
    if (left) deps.log.warn(`Left ${name ?? 'process'} (PID ${result.sourcePid}) on ${result.from}: ${result.error ?? 'no reason given'}`);
    else logOutcome(deps, result, name);
  }
  return { first, forwarded };
}

function logOutcome(deps: MigrationDeps, result: MigrationResult, name: string | undefined): void {
  const what = `${name ?? 'process'} (PID ${result.sourcePid})`;
  if (result.ok) deps.log.info(`Migrated ${what} to ${result.to} as PID ${result.destinationPid ?? '?'}: ${result.strategy}, frozen ${result.freezeMs} ms`);
  else deps.log.error(`Migration of ${what} to ${result.to} failed: ${result.error ?? 'no reason given'}`);
}

function failedBatch(request: BatchRequest, error: string): BatchResult {
  return { ok: false, from: request.from, to: request.to, freezeMs: 0, totalMs: 0, bytes: 0, processes: [], error };
}
