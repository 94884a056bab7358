// The `processMigrator.policies` setting: the policy file of `procmig watch --policy FILE`
// (README, "Automatic moves"), plus `dryRun`; the processes marked with *Allow Automatic Moves*
// join its `marked`. Host-free and pure. The types mirror the engine's policy module
// (src/migration/policy.ts), which checks and runs the policy: the extension gets that module
// through `PolicyEngine` and keeps no policy logic of its own.
import type { Engine, MigrationResult } from '../../migration/api';
import type { AutoMark } from './autoMarks';

export interface PolicyRuleSetting {
  name?: string;
  host: string;
  loadPerCoreAbove?: number;
  loadClearBelow?: number;
  memAvailableBelowMiB?: number;
  memClearAboveMiB?: number;
  forSeconds?: number;
  move?: 'largest' | 'all';
  to?: string;
  candidates?: string[];
}

export type MarkSetting = { host: string; pid: number } | { host?: string; command: string };

/** The policy the engine runs (src/migration/policy.ts `Policy`). */
export interface PolicySpec {
  rules: PolicyRuleSetting[];
  marked: MarkSetting[];
  minSecondsBetweenMoves?: number;
  pollSeconds?: number;
}

export interface PoliciesSetting extends Partial<PolicySpec> {
  /** Only say what would move. */
  dryRun?: boolean;
}

export const POLICIES_DEFAULT: PoliciesSetting = { rules: [] };

/** A move the policy decided (src/migration/policy.ts `PolicyMove`). */
export interface PolicyMoveLike {
  rule: string;
  host: string;
  pid: number;
  name: string;
  to: string;
  candidates?: string[];
  /** One sentence: the rule and the measurement that fired it. */
  trigger: string;
}

export type WatchEventLike = { kind: 'would-move'; move: PolicyMoveLike } | { kind: 'moved'; move: PolicyMoveLike; result: MigrationResult };

export interface WatchOptionsLike {
  dryRun?: boolean;
  signal?: AbortSignal;
  onEvent(event: WatchEventLike): void;
  onProblem?(sentence: string): void;
}

/** The engine's policy module: `parsePolicy` throws one sentence for a policy it cannot run;
 * `watchPolicy` runs until the signal aborts (src/migration/watch.ts). */
export interface PolicyEngine {
  parsePolicy(value: unknown, source?: string): PolicySpec;
  watchPolicy(engine: Pick<Engine, 'hostStates' | 'listProcesses' | 'migrate'>, policy: PolicySpec, options: WatchOptionsLike): Promise<void>;
}

/** The policy to run: the setting's, with the processes marked on their rows added to its
 * `marked`; undefined when it has no rules. Checking it is the engine's (`parsePolicy`). */
export function policyFromSettings(setting: unknown, marks: readonly AutoMark[]): { policy: unknown; dryRun: boolean } | undefined {
  if (!setting || typeof setting !== 'object') return undefined;
  const s = setting as PoliciesSetting;
  if (!Array.isArray(s.rules) || s.rules.length === 0) return undefined;
  const { dryRun, ...policy } = s;
  const marked = [...(Array.isArray(s.marked) ? s.marked : []), ...marks.map(({ host, pid }) => ({ host, pid }))];
  return { policy: { ...policy, marked }, dryRun: dryRun === true };
}
