// The phases of a migration, in the order they begin, each with the words the progress shows and
// whether the process is frozen while it runs. One table for the CLI's timeline, the report's
// chart and the progress notification.
import type { PhaseName } from './api';

export interface PhaseInfo {
  label: string;
  /** The process is stopped on the source and not yet running on the destination. */
  frozen: boolean;
}

const TABLE: Record<PhaseName, PhaseInfo> = {
  connect: { label: 'Connecting', frozen: false },
  preflight: { label: 'Checking both hosts', frozen: false },
  rounds: { label: 'Copying memory while it runs', frozen: false },
  // Right before CRIU freezes it; in a batch, the wait for the others and for a freeze slot.
  freeze: { label: 'Freezing the process', frozen: false },
  dump: { label: 'Dumping', frozen: true },
  transfer: { label: 'Transferring', frozen: true },
  restore: { label: 'Restoring', frozen: true },
  memory: { label: 'Moving the memory into the held copy', frozen: true },
  verify: { label: 'Verifying', frozen: false },
  pages: { label: 'Moving the remaining memory pages', frozen: false },
  cleanup: { label: 'Cleaning up', frozen: false },
};

/** Every phase, in the order a migration begins them. */
export const PHASES = Object.keys(TABLE) as readonly PhaseName[];

/** Undefined for a name from elsewhere (a report saved by another version). */
export function phaseInfo(phase: string): PhaseInfo | undefined {
  return Object.hasOwn(TABLE, phase) ? TABLE[phase as PhaseName] : undefined;
}
