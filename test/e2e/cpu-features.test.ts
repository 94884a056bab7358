// A destination whose CPU lacks instruction sets the source has is refused before the freeze.
// The lab's two hosts share one CPU, so lab-b is given an older one: a second sshd of our own on
// lab-b (another port; the lab's sshd is shared and stays untouched) sets PROCMIG_TEST_CPUINFO,
// the helper's test-only switch, to a copy of lab-b's /proc/cpuinfo without fma, avx2 and bmi2.
// Reached under the alias `lab-b-oldcpu`, it is lab-b itself with that CPU.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kill, procmig, startTicker, stateOf, tickerAdvances, useLab } from './support/lab';
import { secondSshd } from './support/secondSshd';

const ALIAS = 'lab-b-oldcpu';
const GONE = ['fma', 'avx2', 'bmi2'];

describe('CPU features', { timeout: 180_000 }, () => {
  const cleanup = useLab();

  /** lab-b with the older CPU: an ssh_config with the lab's hosts and ALIAS. */
  async function oldCpuLabB(): Promise<string> {
    const { config } = await secondSshd('lab-b', ALIAS, cleanup, {
      prepare: `sed -E '/^flags/ s/ (${GONE.join('|')})( |$)/ /g; /^flags/ s/ (${GONE.join('|')})( |$)/ /g' /proc/cpuinfo >cpuinfo`,
      setEnv: (dir) => ({ PROCMIG_TEST_CPUINFO: `${dir}/cpuinfo` }),
    });
    return config;
  }

  test('a destination without fma, avx2 and bmi2 is refused by name, and the process is never frozen', async () => {
    const config = await oldCpuLabB();
    const check = await procmig(['check', ALIAS, '--json'], { sshConfig: config });
    const flags: string[] = check.json?.[0]?.capabilities?.cpu?.flags ?? [];
    assert.ok(flags.includes('sse4_2'), `${ALIAS} reports its flags: ${check.stdout}${check.stderr}`);
    assert.ok(GONE.every((f) => !flags.includes(f)), `${ALIAS} has the older CPU: ${flags.join(' ')}`);

    const file = `/tmp/pm-cpufeat-ticker-${process.pid}`;
    const pid = await startTicker('lab-a', file);
    cleanup.push(() => kill('lab-a', pid));
    const r = await procmig(['migrate', String(pid), '--from', 'lab-a', '--to', ALIAS, '--json'], { sshConfig: config });
    assert.notEqual(r.code, 0);
    assert.equal(r.json?.ok, false, r.stdout + r.stderr);
    assert.equal(
      r.json.error,
      `${ALIAS}'s CPU lacks fma, avx2 and bmi2, which lab-a's has and the process may use (libraries choose instructions when it starts), so it could die of SIGILL there after the move; move it to a host whose CPU has the same features, or start it anew on ${ALIAS}.`,
    );
    // Refused in the preflight: no freeze, no dump, and the ticker ran on throughout.
    assert.equal(r.json.freezeMs, 0);
    assert.deepEqual(Object.keys(r.json.phases).filter((p) => !['connect', 'preflight', 'cleanup'].includes(p)), []);
    assert.equal(await stateOf('lab-a', pid), 'running');
    assert.ok(await tickerAdvances('lab-a', file));
  });
});
