// The page tunnel (src/migration/pageTunnel.ts) over fake hosts: host to host through the
// helper's one-time sshd and `ssh -L` when both hosts are remote and reach each other, else
// relayed through this machine, with the reason; both ends unix sockets in the image directories.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostHelper } from '../../src/helper/hostHelper';
import { openPageTunnel, pageSocket } from '../../src/migration/pageTunnel';
import { FakeHost, socketPair, type FakeCommand } from './fakes/transport';

const CLIENT_DIR = '/var/tmp/process-migrator/img.client';
const SERVER_DIR = '/var/tmp/process-migrator/img.server';

/** Two hosts: `client` (whose CRIU connects) and `server`; remote ones at `address`. */
function hosts(client: { local?: boolean; address?: string }, server: { local?: boolean; address?: string }) {
  const [c, s] = [new FakeHost('tunnel-a'), new FakeHost('tunnel-b')];
  for (const [host, how] of [[c, client], [s, server]] as const) {
    host.isLocal = how.local ?? false;
    host.address = how.address;
  }
  return { c, s, client: { helper: HostHelper.for(c), dir: CLIENT_DIR }, server: { helper: HostHelper.for(s), dir: SERVER_DIR } };
}

/** The helper's direct-* commands as they behave when both ends start. */
function direct(c: FakeHost, s: FakeHost, tunnel?: (command: FakeCommand) => void) {
  c.answers.set('direct-client', () => 'pubkey=ssh-ed25519 AAAAclient\nvia=10.0.0.1\n');
  s.programs.set('direct-server', (cmd) => void cmd.stdout.write('user=root\nhostkey=ssh-ed25519 AAAAhost\nready 2222 900\n'));
  c.programs.set(
    'direct-tunnel',
    tunnel ??
      ((cmd) => {
        cmd.stdout.write('ready 901\n');
        cmd.stdin.on('finish', () => {
          cmd.stdout.write('bytes=4096\n');
          setImmediate(() => cmd.end(0));
        });
      }),
  );
}

describe('openPageTunnel', () => {
  it('goes host to host: a one-time sshd on the server, ssh -L from the client to its page socket; close counts the bytes and stops both', async () => {
    const { c, s, client, server } = hosts({ address: '10.0.0.1' }, { address: '10.0.0.2' });
    direct(c, s);
    const counter = { bytes: 0 };
    const tunnel = await openPageTunnel(client, server, counter);
    assert.equal(tunnel.route, 'direct');
    assert.equal(tunnel.relayedBecause, undefined);
    assert.equal(tunnel.socket, pageSocket(CLIENT_DIR));
    assert.equal(pageSocket(CLIENT_DIR), `${CLIENT_DIR}/pages.sock`);
    assert.deepEqual(c.ran('direct-client'), [['direct-client', CLIENT_DIR, '10.0.0.2']]);
    assert.deepEqual(s.ran('direct-server'), [['direct-server', SERVER_DIR, `${SERVER_DIR}/pages.sock`, 'ssh-ed25519 AAAAclient', '10.0.0.1']]);
    assert.deepEqual(c.ran('direct-tunnel'), [
      ['direct-tunnel', CLIENT_DIR, '10.0.0.2', '2222', 'root', 'ssh-ed25519 AAAAhost', `${CLIENT_DIR}/pages.sock`, `${SERVER_DIR}/pages.sock`],
    ]);
    assert.equal(c.listeners.length, 0, 'nothing listens on this machine');

    await Promise.all([tunnel.close(), tunnel.close()]);
    assert.equal(counter.bytes, 4096);
    assert.equal(c.spawned.find((x) => x.args[0] === 'direct-tunnel')!.killedWith, undefined, 'the tunnel ended on its own once its stdin closed');
    assert.deepEqual(s.ran('signal'), [['signal', 'TERM', '900']]);
    await tunnel.abort();
    assert.deepEqual(s.ran('signal'), [['signal', 'TERM', '900']], 'close and abort end it once');
  });

  it('abort stops the ssh and the sshd at once, without waiting for their connections', async () => {
    const { c, s, client, server } = hosts({ address: '10.0.0.1' }, { address: '10.0.0.2' });
    direct(c, s, (cmd) => void cmd.stdout.write('ready 901\n'));
    const counter = { bytes: 0 };
    const tunnel = await openPageTunnel(client, server, counter);
    await tunnel.abort();
    assert.equal(c.spawned.find((x) => x.args[0] === 'direct-tunnel')!.killedWith, 'SIGTERM');
    assert.deepEqual(c.ran('signal'), [['signal', 'TERM', '901']]);
    assert.deepEqual(s.ran('signal'), [['signal', 'TERM', '900']]);
    assert.equal(counter.bytes, 0);
  });

  it('is relayed through this machine, saying why, when the server’s address is unknown or this machine’s loopback', async () => {
    for (const [address, why] of [
      [undefined, "tunnel-b's address is unknown"],
      ['127.0.0.1', "tunnel-b's address here, 127.0.0.1, is this machine's loopback"],
      ['localhost', "tunnel-b's address here, localhost, is this machine's loopback"],
    ] as const) {
      const { c, s, client, server } = hosts({ address: '10.0.0.1' }, { address });
      const tunnel = await openPageTunnel(client, server, { bytes: 0 });
      assert.equal(tunnel.route, 'relayed');
      assert.equal(tunnel.relayedBecause, why);
      assert.deepEqual([c.commands, s.commands], [[], []], 'no helper command ran');
      assert.deepEqual(c.listeners[0].options, { port: undefined, path: `${CLIENT_DIR}/pages.sock` });
      await tunnel.close();
    }
  });

  it('is relayed when the direct tunnel does not start, with its last error line, and the one-time sshd is stopped', async () => {
    const { c, s, client, server } = hosts({ address: '10.0.0.1' }, { address: '10.0.0.2' });
    direct(c, s, (cmd) => {
      cmd.stderr.write('ssh: connect to host 10.0.0.2 port 2222: Connection refused\n');
      setImmediate(() => cmd.end(255));
    });
    const tunnel = await openPageTunnel(client, server, { bytes: 0 });
    assert.equal(tunnel.route, 'relayed');
    assert.equal(tunnel.relayedBecause, 'tunnel-a: ssh: connect to host 10.0.0.2 port 2222: Connection refused');
    assert.deepEqual(s.ran('signal'), [['signal', 'TERM', '900']]);
    assert.equal(c.listeners.length, 1);
  });

  it('with this machine as one end: a unix socket in its image directory, each connection carried to the other’s page socket and counted', async () => {
    const { c, s, client, server } = hosts({ local: true }, { address: '10.0.0.2' });
    const counter = { bytes: 0 };
    const tunnel = await openPageTunnel(client, server, counter);
    assert.equal(tunnel.route, 'local');
    assert.equal(tunnel.relayedBecause, undefined);
    assert.equal(tunnel.socket, `${CLIENT_DIR}/pages.sock`);
    const [{ options, onConnection }] = c.listeners;
    assert.deepEqual(options, { port: undefined, path: `${CLIENT_DIR}/pages.sock` });

    const [criu, accepted] = socketPair();
    onConnection(accepted);
    await new Promise((resolve) => setImmediate(resolve));
    const [{ target, far }] = s.connections;
    assert.equal(target, `${SERVER_DIR}/pages.sock`);
    const received = new Promise<string>((resolve) => far.once('data', (d: Buffer) => resolve(d.toString())));
    criu.write('pages');
    assert.equal(await received, 'pages');
    assert.ok(counter.bytes >= 5, `counted ${counter.bytes} bytes`);

    await tunnel.close();
    assert.equal(c.listeners[0].closed, true);
  });
});
