// The `processMigrator.policies` setting: rules that move processes the user marked (*Allow
// Automatic Moves*) when a host is loaded or short of memory. Mirrors the policy file of
// `procmig watch --policy FILE`. Host-free and pure: parsed and checked here, run by the
// engine's policy module (src/migration/policy.ts).
import { AUTO_HOST } from '../../migration/api';

export interface PolicyRule {
  /** Shown in notifications and the report (default: derived from the condition). */
  name?: string;
  /** The host it watches: a host name, or `*` for every configured host. */
  host: string;
  /** Fires when the host's load per usable core stays above this… */
  loadPerCoreAbove?: number;
  /** …for this many seconds (hysteresis: it must stay above that long; default 60). */
  forSeconds?: number;
  /** Fires when the host's available memory falls below this many MiB. */
  memAvailableBelowMiB?: number;
  /** `marked`: every marked process on the host; `largest`: the largest consumer among them. */
  move?: 'marked' | 'largest';
  /** `auto` (the best host) or a host name. */
  to?: string;
  /** A process moved by a rule is not moved again before this many seconds (default 600). */
  minSecondsBetweenMoves?: number;
  /** Only say what it would do. */
  dryRun?: boolean;
}

export const POLICY_DEFAULTS = { forSeconds: 60, move: 'largest', to: AUTO_HOST, minSecondsBetweenMoves: 600, dryRun: false } as const;

export type CompletePolicyRule = Required<Omit<PolicyRule, 'loadPerCoreAbove' | 'memAvailableBelowMiB'>> &
  Pick<PolicyRule, 'loadPerCoreAbove' | 'memAvailableBelowMiB'>;

/** The rules of the setting with their defaults, and one sentence per rule left out. */
export function readPolicies(raw: unknown): { rules: CompletePolicyRule[]; problems: string[] } {
  const rules: CompletePolicyRule[] = [];
  const problems: string[] = [];
  (Array.isArray(raw) ? raw : []).forEach((value: unknown, i) => {
    const where = `processMigrator.policies[${i}]`;
    if (!value || typeof value !== 'object') return problems.push(`${where} is not an object: write {"host": …, "loadPerCoreAbove": …}.`);
    const r = value as PolicyRule;
    if (typeof r.host !== 'string' || !r.host.trim()) return problems.push(`${where} names no host: set "host" to a host name or "*".`);
    const positive = (n: unknown) => n === undefined || (typeof n === 'number' && Number.isFinite(n) && n >= 0);
    if (r.loadPerCoreAbove === undefined && r.memAvailableBelowMiB === undefined) {
      return problems.push(`${where} has no condition: set "loadPerCoreAbove" or "memAvailableBelowMiB".`);
    }
    for (const key of ['loadPerCoreAbove', 'forSeconds', 'memAvailableBelowMiB', 'minSecondsBetweenMoves'] as const) {
      if (!positive(r[key])) return problems.push(`${where}.${key} must be a number of at least 0.`);
    }
    if (r.move !== undefined && r.move !== 'marked' && r.move !== 'largest') return problems.push(`${where}.move must be "marked" or "largest".`);
    if (r.to !== undefined && r.to === r.host) return problems.push(`${where} moves processes to the host it watches: set "to" to another host or "auto".`);
    rules.push({
      name: r.name ?? ruleName(r),
      host: r.host.trim(),
      loadPerCoreAbove: r.loadPerCoreAbove,
      memAvailableBelowMiB: r.memAvailableBelowMiB,
      forSeconds: r.forSeconds ?? POLICY_DEFAULTS.forSeconds,
      move: r.move ?? POLICY_DEFAULTS.move,
      to: r.to?.trim() || POLICY_DEFAULTS.to,
      minSecondsBetweenMoves: r.minSecondsBetweenMoves ?? POLICY_DEFAULTS.minSecondsBetweenMoves,
      dryRun: r.dryRun ?? POLICY_DEFAULTS.dryRun,
    });
  });
  return { rules, problems };
}

/** `lab-a: load per core above 1.5 for 60 s, or less than 512 MiB available`. */
export function ruleName(r: PolicyRule): string {
  const when = [
    r.loadPerCoreAbove !== undefined ? `load per core above ${r.loadPerCoreAbove} for ${r.forSeconds ?? POLICY_DEFAULTS.forSeconds} s` : '',
    r.memAvailableBelowMiB !== undefined ? `less than ${r.memAvailableBelowMiB} MiB available` : '',
  ].filter(Boolean);
  return `${r.host}: ${when.join(', or ')}`;
}
