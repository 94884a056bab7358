// One sentence for whatever went wrong, whichever layer it came from.
import { CheckpointError } from '../checkpoint/engine';
import { HelperError } from '../helper/hostHelper';
import { TransportError } from '../transport/host';

/** The migration was stopped by the preflight; nothing was touched. */
export class PreflightError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join(' '));
    this.name = 'PreflightError';
  }
}

export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledError';
  }
}

export function sentenceFor(err: unknown): string {
  if (err instanceof PreflightError || err instanceof TransportError || err instanceof CheckpointError) return err.message;
  if (err instanceof HelperError) return `The helper on ${err.host} failed (${err.command}): ${err.message}.`.replace('..', '.');
  if (err instanceof Error) return err.message;
  return String(err);
}

/** An error as a clause of another sentence: its message without the final stop. */
export function clauseFor(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
