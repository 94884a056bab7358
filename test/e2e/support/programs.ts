// Real programs (servers, dev servers, kernels) moved as a user would: `procmig migrate` with no
// options, then asked on the destination for the state they held.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { onHost, procmig, waitFor } from './lab';

export const A = 'lab-a';
export const B = 'lab-b';

/** Moves `pid` from lab-a to lab-b with plain `procmig migrate --json`, asserts that it runs
 * there, prints its freeze and total times (a line per program, for the README's table) and
 * returns its PID on lab-b. */
export async function moveProgram(t: TestContext, program: string, pid: number): Promise<number> {
  const result = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
  assert.equal(result.code, 0, `procmig failed: ${result.stdout}${result.stderr}`);
  const r = result.json;
  assert.equal(r.ok, true, r.error);
  assert.ok(Number.isInteger(r.destinationPid));
  printTimes(t, program, r);
  return r.destinationPid;
}

/** One line per moved program: its freeze and total times, what moved and the CRIU options. */
export function printTimes(t: TestContext, program: string, r: { freezeMs: number; totalMs: number; bytes: number; options: { option: string }[] }): void {
  const options = r.options.map((o) => o.option).join(', ');
  t.diagnostic(`program: ${program} | freeze ${r.freezeMs} ms | total ${r.totalMs} ms | ${(r.bytes / 2 ** 20).toFixed(1)} MiB | ${options}`);
}

/** `curl` of a URL on a host's loopback; '' when nothing answers. */
export function curl(host: string, url: string): Promise<string> {
  return onHost(host, `curl -s --max-time 5 '${url}'`).catch(() => '');
}

/** Waits until `url` answers on `host` with a body that `ok` accepts (programs take a while to
 * start on 2 shared cores: a JVM, a Vite dev server). */
export async function untilServes(host: string, url: string, ok: (body: string) => boolean = (b) => b !== '', timeoutMs = 60_000): Promise<string> {
  let body = '';
  await waitFor(async () => ok((body = await curl(host, url))), timeoutMs);
  return body;
}
