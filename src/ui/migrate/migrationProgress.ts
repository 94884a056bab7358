// What single and batch migrations share in the UI: a cancellable notification that follows the
// engine's phases, and the buttons of the notification that ends it.
import * as vscode from 'vscode';
import type { MigrateOptions, MigrationProgress } from '../../migration/api';
import { phaseInfo } from '../../migration/phases';
import { errorMessage } from '../view/processModel';

export const SHOW_REPORT = 'Show Report';
export const SHOW_LOG = 'Show Log';

/**
 * Runs `migrate` inside a cancellable notification "Migrating <what> to <to>". It gets the engine's
 * signal (aborted by Cancel or by the caller's `signal`) and progress callback (the log, the
 * notification and the caller's `onProgress`); an error becomes `failed(message)`. Never rejects.
 */
export function withMigrationProgress<T>(
  log: vscode.LogOutputChannel,
  what: string,
  to: string,
  caller: { signal?: AbortSignal; onProgress?: (progress: MigrationProgress) => void },
  migrate: (engineOptions: Pick<MigrateOptions, 'signal' | 'onProgress'>) => Promise<T>,
  failed: (error: string) => T,
): Thenable<T> {
  const title = `Migrating ${what} to ${to}`;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const onCancel = token.onCancellationRequested(() => {
      log.warn(`Migration of ${what} cancelled by the user`);
      abort.abort();
    });
    const onExternalAbort = () => abort.abort();
    caller.signal?.addEventListener('abort', onExternalAbort, { once: true });
    if (caller.signal?.aborted) abort.abort();
    try {
      return await migrate({
        signal: abort.signal,
        onProgress: (p) => {
          log.info(`[${p.phase}] ${p.message}`);
          progress.report({ message: `${phaseInfo(p.phase)?.label ?? p.phase}: ${p.message}` });
          caller.onProgress?.(p);
        },
      });
    } catch (err) {
      return failed(errorMessage(err));
    } finally {
      onCancel.dispose();
      caller.signal?.removeEventListener('abort', onExternalAbort);
    }
  });
}
