// The helper's `host-state` (and `caps`' memory figure) against cgroup v1 and v2 layouts
// (test/unit/fixtures/cgroup-v1, cgroup-v2: /proc and /sys as such hosts show them), run by sh on
// the built helper in its sourced mode, and parsed by src/helper/hostState.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCapabilities } from '../../src/helper/capabilities';
import { remoteHelperFile } from '../../src/helper/hostHelper';
import { parseHostState, parseTreeUse } from '../../src/helper/hostState';

const helper = remoteHelperFile('procmig-helper.sh');
const fixtureRoot = (name: string) => path.join(__dirname, 'fixtures', name);
const scratch = mkdtempSync(path.join(tmpdir(), 'host-state-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function sourced(script: string, root?: string, env: Record<string, string> = {}): string {
  const r = spawnSync('sh', ['-c', `. "$0"; ${script}`, helper], {
    encoding: 'utf8',
    env: { ...process.env, PROCMIG_HELPER_SOURCED: '1', PROCMIG_IMAGES_DIR: path.join(scratch, 'images'), ...(root ? { PROCMIG_TEST_ROOT: root } : {}), ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const online = Number(sourced('getconf _NPROCESSORS_ONLN'));
const MiB = 1 << 20;

describe('host-state under cgroup v1 (this machine\'s hybrid layout: cpu and cpuacct mounted apart)', () => {
  const state = parseHostState(sourced('cpu_state; memory_state', fixtureRoot('cgroup-v1')));
  it("finds the host's cgroup in each controller's hierarchy and reads its limits", () => {
    assert.equal(state.cpuQuota, 0.5);
    assert.equal(state.cpus, Math.min(online, 0.5));
    assert.equal(state.cpuUsageNs, 12_500_000_000, "the cgroup's cpuacct.usage, not the machine's");
    assert.equal(state.memLimitBytes, 512 * MiB);
    // 512 MiB limit − (200 MiB used − 50 MiB of inactive page cache)
    assert.equal(state.memAvailableBytes, 362 * MiB);
    assert.equal(state.uptime, 389.05);
    assert.deepEqual([state.loadavg1, state.loadavg5, state.cpuPressure], [2.73, 1.5, 47.05]);
  });

  it('in a cgroup namespace whose mount shows more than the namespace, finds the cgroup by its PID', () => {
    const root = path.join(scratch, 'v1-ns');
    cpSync(fixtureRoot('cgroup-v1'), root, { recursive: true });
    // Inside the namespace the host's cgroup is `/`, and the mount's root lies above it.
    writeFileSync(path.join(root, 'proc/self/cgroup'), '4:memory:/\n2:cpuacct:/\n1:cpu:/\n0::/\n');
    const mountinfo = path.join(root, 'proc/self/mountinfo');
    writeFileSync(mountinfo, readFileSync(mountinfo, 'utf8').replace(/ \/ (\/sys\/fs\/cgroup\/(memory|cpu|cpuacct)) /g, ' /../.. $1 '));
    const procs = ['memory', 'cpu', 'cpuacct'].map((c) => `"$PROCMIG_TEST_ROOT/sys/fs/cgroup/${c}/lab/lab-a/cgroup.procs"`);
    const ns = parseHostState(sourced(`for f in ${procs.join(' ')}; do echo $$ >"$f"; done; cpu_state; memory_state`, root));
    assert.equal(ns.cpuQuota, 0.5);
    assert.equal(ns.cpuUsageNs, 12_500_000_000);
    assert.equal(ns.memAvailableBytes, 362 * MiB);
  });

  it("makes caps' memory figure the cgroup's too (the preflight's memory check)", () => {
    // Without CRIU in PATH, caps stops before running it.
    const caps = parseCapabilities('v1', sourced('cmd_caps', fixtureRoot('cgroup-v1'), { PATH: '/usr/bin:/bin' }));
    assert.equal(caps.memAvailableKiB, 362 * 1024);
  });
});

describe('host-state under cgroup v2', () => {
  const state = parseHostState(sourced('cpu_state; memory_state', fixtureRoot('cgroup-v2')));
  it("reads cpu.max, cpu.stat, the cgroup's cpu.pressure and the tightest memory.max of its ancestors", () => {
    assert.equal(state.cpuQuota, 1.5);
    assert.equal(state.cpus, Math.min(online, 1.5));
    assert.equal(state.cpuUsageNs, 4_000_000_000);
    assert.equal(state.cpuPressure, 12.5, "the cgroup's, not /proc/pressure/cpu's 3.00");
    assert.equal(state.memLimitBytes, 768 * MiB, 'the parent (768 MiB) binds tighter than its own 1 GiB');
    // 768 MiB − (256 MiB − 32 MiB inactive file)
    assert.equal(state.memAvailableBytes, 544 * MiB);
  });
});

describe('host-state on this machine', () => {
  it('prints sane numbers, cheaply (no CRIU run)', () => {
    const text = sourced('cmd_host_state');
    const state = parseHostState(text);
    assert.ok(state.cpus > 0 && state.cpus <= online, text);
    assert.ok(state.uptime > 0, text);
    assert.ok(state.memAvailableBytes > 0 && state.diskFreeBytes > 0, text);
    assert.ok(state.arch, text);
    assert.doesNotMatch(text, /feature\.|criu_check/);
  });
});

describe('tree-use', () => {
  it("measures a tree's recent CPU use and its RSS, and names a missing process", () => {
    const idle = parseTreeUse(sourced('sleep 5 & p=$!; cmd_tree_use "$p" 0.2; kill "$p"'));
    assert.ok(idle.cpuCores < 0.1, `a sleep uses ${idle.cpuCores} cores`);
    assert.ok(idle.rssBytes > 0);
    const r = spawnSync('sh', ['-c', '. "$0"; cmd_tree_use 999999', helper], { encoding: 'utf8', env: { ...process.env, PROCMIG_HELPER_SOURCED: '1' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Process 999999 does not exist on /);
  });
});

/** This process's cgroup directory in the v1 hierarchy of `controller`, if mounted there. */
function v1CgroupDir(controller: string): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  const dir = line && path.join('/sys/fs/cgroup', controller, line.split(':').slice(2).join(':'));
  return dir && existsSync(path.join(dir, 'cgroup.procs')) ? dir : undefined;
}

describe('host-state in a real cgroup v1 of this machine', () => {
  const dirs = ['memory', 'cpu', 'cpuacct'].map(v1CgroupDir);
  const usable = process.getuid?.() === 0 && dirs.every(Boolean);
  it('reads the limits of the cgroup it runs in (root and cgroup v1 only)', { skip: !usable && 'needs root and the v1 memory, cpu and cpuacct hierarchies' }, () => {
    const made = dirs.map((d) => path.join(d!, `procmig-test-${process.pid}`));
    try {
      for (const d of made) mkdirSync(d);
      writeFileSync(path.join(made[0], 'memory.limit_in_bytes'), String(256 * MiB));
      writeFileSync(path.join(made[1], 'cpu.cfs_quota_us'), '50000');
      const join = made.map((d) => `echo $$ >'${d}/cgroup.procs'`).join('; ');
      const state = parseHostState(sourced(`${join}; cmd_host_state`));
      assert.equal(state.memLimitBytes, 256 * MiB);
      assert.ok(state.memAvailableBytes > 200 * MiB && state.memAvailableBytes <= 256 * MiB, `${state.memAvailableBytes}`);
      assert.equal(state.cpuQuota, 0.5);
      assert.ok(state.cpuUsageNs !== undefined && state.cpuUsageNs < 10e9, "the new cgroup's own CPU time");
    } finally {
      for (const d of made) if (existsSync(d)) rmdirSync(d);
    }
  });
});
