// The round trip between two hosts: the helper's link-rtt (run here on the built helper, against a
// listener of this test), its parser, how HostStates measures and remembers it per pair, and how
// placement breaks a tie with it when no speed was learned.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { HostStates } from '../../src/automatic/hostStates';
import { fasterLink, formatMs, linksText, rankHosts, type RankInput } from '../../src/automatic/placement';
import { formatHostStates } from '../../src/cli/format';
import { remoteHelperFile } from '../../src/helper/hostHelper';
import { parseHostState, parseLinkRtt } from '../../src/helper/hostState';
import { measureLink } from '../../src/migration/hostMeasure';
import type { HostState } from '../../src/migration/api';

const state = (host: string, over: Partial<HostState> = {}): HostState => ({ host, measuredAt: 0, cpus: 2, load1PerCore: 0, load5PerCore: 0, memAvailableKiB: 4 << 20, diskAvailableKiB: 10 << 20, ...over });
const ok = (host: string) => ({ host, feasible: true, problems: [] });
const proc = { rssKiB: 256 << 10, cpuCores: 1 };

/** The built helper's command `args`, as a host runs it. */
function helper(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [remoteHelperFile('procmig-helper.sh'), ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('link-rtt', () => {
  it('the helper times a TCP connect to ADDR PORT, and says why it cannot', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await helper(['link-rtt', '127.0.0.1', String(port)]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(parseLinkRtt(r.stdout) > 0, r.stdout);
    } finally {
      server.close();
    }
    const refused = await helper(['link-rtt', '127.0.0.1', String(port)]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cannot connect to 127\.0\.0\.1 port \d+/);
    const odd = await helper(['link-rtt', '-oProxyCommand=x', '22']);
    assert.notEqual(odd.code, 0);
    assert.match(odd.stderr, /unexpected address/);
  });

  it('parses rtt_ms and ssh_port, and refuses what is not a number', () => {
    assert.equal(parseLinkRtt('rtt_ms=0.412\n'), 0.412);
    assert.throws(() => parseLinkRtt('perl: oops\n'), /unexpected link-rtt output: perl: oops/);
    assert.equal(parseHostState('cpus_online=2\nssh_port=2222\n').sshPort, 2222);
    assert.equal(parseHostState('cpus_online=2\nssh_port=\n').sshPort, undefined);
  });

  it("asks the source's helper about the other host's HostName and sshd port; never a loopback address", async () => {
    const asked: string[][] = [];
    const source = { run: async (args: string[]) => (asked.push(args), 'rtt_ms=1.5\n') };
    assert.equal(await measureLink(source, { name: 'lab-b', address: '10.77.0.12' }, 2222), 1.5);
    assert.deepEqual(asked, [['link-rtt', '10.77.0.12', '2222']]);
    await assert.rejects(measureLink(source, { name: 'fwd', address: '127.0.0.1' }), /loopback/);
    await assert.rejects(measureLink(source, { name: 'local' }), /address is unknown/);
  });

  it('HostStates measures a pair once while fresh, at the sshd port the state read, either way round, and again once stale', async () => {
    let now = 1_000;
    const calls: string[] = [];
    const states = new HostStates(
      {
        measureHost: async (host: string) => state(host, { measuredAt: now, sshPort: host === 'lab-c' ? 2222 : 22 }),
        measureLink: async (from: string, to: string, port?: number) => {
          calls.push(`${from}→${to}:${port}`);
          if (to === 'down') throw new Error('no route');
          return to === 'lab-b' ? 0.4 : 3;
        },
      },
      { now: () => now },
    );
    assert.deepEqual(await states.linkRtts('lab-a', ['lab-b', 'lab-c', 'down']), [0.4, 3, undefined]);
    assert.deepEqual(await states.linkRtts('lab-a', ['lab-b', 'lab-c']), [0.4, 3]);
    assert.deepEqual(calls, ['lab-a→lab-b:22', 'lab-a→lab-c:2222', 'lab-a→down:22']);
    assert.equal(states.linkRttMs('lab-b', 'lab-a'), 0.4, 'a connect takes as long either way');
    states.learnLink('lab-a', 'lab-b', 400 << 20, 1000);
    assert.deepEqual(states.peek('lab-a')?.links ?? [], [], 'lab-a itself was never probed');
    await states.get(['lab-a']);
    assert.deepEqual(states.peek('lab-a')?.links, [{ host: 'lab-b', rttMs: 0.4, mibps: 400 }, { host: 'lab-c', rttMs: 3 }]);
    assert.deepEqual(states.peek('lab-b')?.links, [{ host: 'lab-a', rttMs: 0.4 }]);
    assert.match(formatHostStates([states.peek('lab-a')!]), /, links lab-b 0\.4 ms, 400 MiB\/s · lab-c 3 ms\n$/);
    assert.equal(linksText({ links: [{ host: 'x', mibps: 90 }] }), 'x 90 MiB/s');
    now += 60_000;
    assert.deepEqual(await states.linkRtts('lab-a', ['lab-b']), [0.4]);
    assert.equal(calls.length, 4, 'measured again once older than the maximum age');
    await states.measureLinksAmong(['lab-a', 'lab-b', 'lab-c']);
    assert.deepEqual(calls.slice(4).sort(), ['lab-a→lab-c:2222', 'lab-b→lab-c:2222'], 'each pair once, only those gone stale');
  });

  it('a tie without a learned speed goes to the shorter round trip between the hosts, then from this machine', () => {
    const near: RankInput = { state: state('near', { rttMs: 9 }), feasibility: ok('near'), linkRttMs: 0.3 };
    const far: RankInput = { state: state('far', { rttMs: 1 }), feasibility: ok('far'), linkRttMs: 12 };
    const placement = rankHosts(proc, [far, near]);
    assert.equal(placement.host, 'near');
    assert.match(placement.reason, /a tie, decided by the faster link, RTT 0\.3 ms from the source/);
    assert.match(placement.candidates.find((c) => c.host === 'far')!.reason, /slower, RTT 12 ms from the source/);
    assert.equal(placement.candidates.find((c) => c.host === 'far')!.linkRttMs, 12, 'the report carries each measured RTT');
    // A learned speed outranks any RTT; without a host-to-host RTT, this machine's decides.
    assert.ok(fasterLink({ ...far, mibps: 300 }, near) < 0);
    assert.ok(fasterLink({ ...near, linkRttMs: undefined }, { ...far, linkRttMs: undefined }) > 0);
    assert.equal(formatMs(0.0243), '0.024 ms');
    assert.equal(formatMs(41.6), '42 ms');
  });
});
