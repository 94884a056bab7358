// What the migrate commands (one process, a batch, a debug session, bring back) share: the
// services they use and the options other callers may pass. Apart from migrate.ts so that
// batchMigration.ts, which migrate.ts calls, needs nothing of it.
import type * as vscode from 'vscode';
import type { HostStates } from '../../automatic/hostStates';
import type { Engine, MigrationProgress, Strategy } from '../../migration/api';
import type { MigrationHistory } from '../report/history';
import type { ProcessModel } from '../view/processModel';
import type { PortForwards } from '../forwards/portForwards';
import type { TerminalMoves } from '../terminals/terminalMoves';
import type { TracerModal } from './tracerPrompt';

export interface MigrationDeps {
  engine: Engine;
  model: ProcessModel;
  /** The engine's measured host states, one cache for the session: placements share its readings
   * and the host rows show them. */
  hostStates: HostStates;
  history: MigrationHistory;
  log: vscode.LogOutputChannel;
  forwards?: PortForwards;
  /** Opens a moved terminal process's new terminal. */
  terminals?: TerminalMoves;
}

/** Extra arguments for callers other than the UI (tests, other extensions). */
export interface MigrateCommandOptions {
  /** Aborts the migration like the notification's Cancel button. */
  signal?: AbortSignal;
  strategy?: Strategy;
  /** Called with each phase, besides the notification. */
  onProgress?: (progress: MigrationProgress) => void;
  /** Forward the ports it listened on from its origin (default: the forwardPorts setting). */
  forwardPorts?: boolean;
  /** Answers the "stop the tracer?" modal in place of the user (tests). */
  tracerModal?: TracerModal;
}
