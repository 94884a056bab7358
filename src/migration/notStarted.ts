// The result of a migration that ended before the engine started it (nothing frozen, nothing
// timed): what a caller reports when the engine rejected, or no destination could be chosen.
import type { MigrationRequest, MigrationResult } from './api';

export function notStartedResult(request: Pick<MigrationRequest, 'pid' | 'from' | 'to' | 'strategy'>, error: string, details: Partial<MigrationResult> = {}): MigrationResult {
  return {
    ok: false,
    from: request.from,
    to: request.to,
    sourcePid: request.pid,
    strategy: request.strategy && request.strategy !== 'auto' ? request.strategy : 'stop-and-copy',
    strategyReason: 'The engine stopped before choosing.',
    phases: {},
    freezeMs: 0,
    totalMs: 0,
    bytes: 0,
    options: [],
    startedAt: new Date().toISOString(),
    error,
    ...details,
  };
}
