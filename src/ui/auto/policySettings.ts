// The `processMigrator.policies` setting: the policy file of `procmig watch --policy FILE`
// (README, "Automatic moves"), plus `dryRun`; the processes marked with *Allow Automatic Moves*
// join its `marked`. Host-free and pure. The engine's policy module (src/migration/automatic/policy.ts)
// checks and runs the policy: the extension gets that module through `PolicyEngine` and keeps no
// policy logic of its own.
import type { Engine, Policy, WatchOptions } from '../../migration/api';
import type { AutoMark } from './autoMarks';

export interface PoliciesSetting extends Partial<Policy> {
  /** Only say what would move. */
  dryRun?: boolean;
}

export const POLICIES_DEFAULT: PoliciesSetting = { rules: [] };

/** The engine's policy module: `parsePolicy` throws one sentence for a policy it cannot run;
 * `watchPolicy` runs until the signal aborts (src/migration/automatic/watch.ts). */
export interface PolicyEngine {
  parsePolicy(value: unknown, source?: string): Policy;
  watchPolicy(engine: Pick<Engine, 'hostStates' | 'listProcesses' | 'migrate'>, policy: Policy, options: WatchOptions): Promise<void>;
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
