// What the extension's policies say: the setting read into policies (or why not), and the words
// of an automatic move's progress and notification. Host-free.
import { parsePolicies, type Policies } from '../../automatic/policy';
import type { PlannedMove } from '../../automatic/watch';
import type { MigrationResult } from '../../migration/api';

export const POLICIES_SETTING = 'processMigrator.policies';

export type PolicySetting = { state: 'off' } | { state: 'invalid'; message: string } | { state: 'on'; policies: Policies };

/** The setting's value as policies to run: off when it has no rules (`{}` or `"rules": []`),
 * else checked by parsePolicies, whose sentences make the one warning. */
export function readPolicySetting(value: unknown): PolicySetting {
  if (value === undefined || value === null) return { state: 'off' };
  if (typeof value === 'object' && !Array.isArray(value)) {
    const rules = (value as { rules?: unknown }).rules;
    if (rules === undefined ? Object.keys(value).length === 0 : Array.isArray(rules) && rules.length === 0) return { state: 'off' };
  }
  const { policies, errors } = parsePolicies(value);
  if (!policies) return { state: 'invalid', message: `The setting ${POLICIES_SETTING} is not valid, so no policy runs: ${errors.join(' ')}` };
  return { state: 'on', policies };
}

/** The progress notification's title while a policy moves a process. */
export function movingTitle(move: PlannedMove): string {
  return `Policy ${move.rule}: moving PID ${move.pid} (${move.name}) off ${move.host}…`;
}

/** The notification after an automatic move: what moved where, and why. */
export function moveOutcomeText(move: PlannedMove, result: MigrationResult): string {
  const what = `${move.name} (PID ${move.pid})`;
  if (result.ok) return `Policy ${move.rule} moved ${what} from ${move.host} to ${result.to}, now PID ${result.destinationPid ?? '?'} there, because ${why(move)}.`;
  return `Policy ${move.rule} tried to move ${what} off ${move.host} because ${why(move)}, and did not: ${result.error ?? 'no reason given.'}`;
}

/** The firing's reason without its `policy <name>: ` prefix (the text says the name already). */
function why(move: PlannedMove): string {
  const prefix = `policy ${move.rule}: `;
  return move.reason.startsWith(prefix) ? move.reason.slice(prefix.length) : move.reason;
}

/** What a marked row adds to its description and tooltip. */
export const MARKED_DESCRIPTION = 'auto-move';

export function markedTooltip(source: 'workspace' | 'setting'): string {
  const by = source === 'setting' ? `It is marked in the setting ${POLICIES_SETTING} ("marked").` : 'Stop Automatic Moves takes it back.';
  return `Automatic moves allowed: a rule of ${POLICIES_SETTING} may move it to another host. ${by}`;
}
