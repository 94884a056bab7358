// Suites that need the two lab hosts. test/vscode/run.ts sets PM_LAB_SSH_CONFIG when lab-a and
// lab-b answer. Without it they fail, so a run without the lab never passes by skipping them,
// unless the run was asked to skip them (PROCESS_MIGRATOR_SKIP_LAB=1). Host-free, no vscode import.

export const SKIP_LAB_VARIABLE = 'PROCESS_MIGRATOR_SKIP_LAB';

export type LabMode = 'run' | 'skip' | 'fail';

/** What a lab suite does in a run with the environment `env`. */
export function labMode(env: NodeJS.ProcessEnv): LabMode {
  if (env[SKIP_LAB_VARIABLE] === '1') return 'skip';
  return env.PM_LAB_SSH_CONFIG ? 'run' : 'fail';
}

/** The sentence a lab suite fails with when there is no lab. */
export const NO_LAB =
  `No lab: lab-a and lab-b did not answer (PM_LAB_SSH_CONFIG is not set); start it with \`sh scripts/lab.sh up\`, or set ${SKIP_LAB_VARIABLE}=1 to skip the tests that need it.`;

/** mocha's `describe` for a suite that needs the lab: run, skipped when asked, or one failing test. */
export function describeWithLab(title: string, suite: (this: Mocha.Suite) => void): void {
  const mode = labMode(process.env);
  if (mode === 'run') describe(title, suite);
  else if (mode === 'skip') describe.skip(title, suite);
  else describe(title, () => it('needs the lab', () => { throw new Error(NO_LAB); }));
}
