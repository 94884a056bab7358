// Routes readied before their migration (src/migration/routePool.ts) over fake hosts: the
// directories and the host-to-host tunnel open once per pair, the next migration takes them
// (counting their bytes), and unused ones go: after their wait, beyond MAX_READY, at the end.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { IDLE_MS, MAX_READY, RoutePool } from '../../src/migration/routePool';
import { FakeHost, type FakeCommand } from './fakes/transport';

function lab(names: string[]) {
  const hosts = new Map(names.map((n, i) => [n, new FakeHost(n)]));
  let port = 2200;
  [...hosts.values()].forEach((h, i) => {
    h.isLocal = false;
    h.address = `10.0.0.${i + 1}`;
    h.answers.set('direct-client', () => 'pubkey=ssh-ed25519 AAAAclient\nvia=10.0.0.1\n');
    h.programs.set('direct-server', (cmd) => void cmd.stdout.write(`user=root\nhostkey=ssh-ed25519 AAAAhost\nready ${port++} 900\n`));
    h.programs.set('direct-tunnel', (cmd: FakeCommand) => {
      cmd.stdout.write('ready 901\n');
      cmd.stdin.on('finish', () => {
        cmd.stdout.write('bytes=4096\n');
        setImmediate(() => cmd.end(0));
      });
    });
  });
  const pool = new RoutePool(async (name) => HostHelper.for(hosts.get(name)!), () => undefined);
  return { hosts, pool, get: (n: string) => hosts.get(n)! };
}

const removed = (h: FakeHost) => h.ran('rmimages').map((a) => a[1]);

describe('RoutePool', () => {
  it('readies a pair once, and the migration that takes it gets its directories, its tunnel and, from then, its bytes', async () => {
    const { pool, get } = lab(['pa', 'pb']);
    pool.prepare('pa', 'pb');
    pool.prepare('pa', 'pb'); // the picker's highlight fires again
    const route = await pool.take('pa', 'pb');
    assert.ok(route);
    assert.equal(get('pa').ran('mkimages').length, 1);
    assert.equal(get('pb').ran('direct-server').length, 1);
    assert.equal(route.sourceDir, '/var/tmp/process-migrator/img.pa');
    assert.equal(route.destinationDir, '/var/tmp/process-migrator/img.pb');
    assert.equal(route.tunnel.route, 'direct');
    assert.equal(await pool.take('pa', 'pb'), undefined, 'a route serves one migration');
    const counted = { bytes: 10 };
    route.counter.target = counted;
    await route.tunnel.close();
    assert.equal(counted.bytes, 10 + 4096);
    await pool.close();
    assert.deepEqual(removed(get('pa')), [], 'a taken route is the migration’s to remove');
  });

  it('drops a route nobody took after IDLE_MS, and the oldest beyond MAX_READY', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { pool, get } = lab(['qa', 'qb', 'qc', 'qd']);
      pool.prepare('qa', 'qb');
      await new Promise((r) => setImmediate(r));
      mock.timers.tick(IDLE_MS);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.equal(await pool.take('qa', 'qb'), undefined);
      assert.deepEqual(removed(get('qb')), ['/var/tmp/process-migrator/img.qb']);
      assert.deepEqual(get('qb').ran('signal'), [['signal', 'TERM', '900']], 'its sshd stopped');

      const others = ['qb', 'qc', 'qd'].slice(0, MAX_READY + 1);
      for (const to of others) pool.prepare('qa', to);
      assert.equal(await pool.take('qa', others[0]), undefined, 'the oldest went');
      assert.ok(await pool.take('qa', others[others.length - 1]));
      await pool.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('gives nothing when the route could not open or stopped serving, so the migration makes its own', async () => {
    const { pool, get } = lab(['ra', 'rb']);
    get('rb').answers.set('mkimages', () => ({ code: 1, stdout: '', stderr: 'No space left on device\n' }));
    pool.prepare('ra', 'rb');
    assert.equal(await pool.take('ra', 'rb'), undefined);
    assert.deepEqual(removed(get('ra')), ['/var/tmp/process-migrator/img.ra'], 'what it made went');

    const ok = lab(['sa', 'sb']);
    let tunnel: FakeCommand | undefined;
    ok.get('sa').programs.set('direct-tunnel', (cmd) => {
      tunnel = cmd;
      cmd.stdout.write('ready 901\n');
    });
    ok.pool.prepare('sa', 'sb');
    await new Promise((r) => setTimeout(r, 10));
    tunnel!.end(255); // the host-to-host ssh dropped while the user chose
    await new Promise((r) => setImmediate(r));
    assert.equal(await ok.pool.take('sa', 'sb'), undefined);
    assert.deepEqual(removed(ok.get('sb')), ['/var/tmp/process-migrator/img.sb']);
  });
});
