// The way memory pages travel between the two hosts. Relayed through this machine (bridgePort)
// they cross two SSH links and this machine's CPU: 60–160 MiB/s in the lab, where OpenSSH host
// to host does ~400 MiB/s (bench/throughput.ts). So when both hosts are remote, the host whose
// CRIU connects (the client) runs `ssh -L` straight to a one-time sshd on the other (the
// server; remote-helper `direct-*`): still SSH, still host-key checked, keys made where they
// are used and deleted with the images. When the client cannot reach the server, or lacks
// OpenSSH, the relay carries the pages and the report says why.
//
// Either way both ends are unix sockets in the hosts' image directories (0700), never a TCP
// port: any local user of a shared host can connect to a loopback port, and CRIU's page server
// authenticates nobody (they could read the memory being moved, or feed pages into the process
// being restored). OpenSSH and ssh2 forward unix sockets like ports, and the helper hands CRIU
// the connection itself (`--ps-socket`).
import { parseKeyValues, type HostHelper } from '../helper/hostHelper';
import { startService, type HelperService } from '../helper/service';
import { bridgePort, type ByteCounter } from '../transport/bridge';
import { clauseFor } from './errors';

export interface TunnelEnd {
  helper: HostHelper;
  /** The host's private image directory: the one-time keys and the page socket live in it. */
  dir: string;
}

export interface PageTunnel {
  /** The unix socket on the client whose connections reach the server's page socket. */
  readonly socket: string;
  /** `direct`: host to host; `local`: this machine is one end, its SSH link is direct anyway;
   * `relayed`: through this machine, for `relayedBecause`. */
  readonly route: 'direct' | 'local' | 'relayed';
  readonly relayedBecause?: string;
  /** Whether it still carries connections: a readied one may have lost a host meanwhile. */
  serving(): boolean;
  /** Ends the tunnel once its connections closed, counting the bytes; idempotent. */
  close(): Promise<void>;
  /** Ends it now (rollback); idempotent. */
  abort(): Promise<void>;
}

/** Where a host's end of the page connection is: a unix socket in its private image directory. */
export function pageSocket(dir: string): string {
  return `${dir}/pages.sock`;
}

/** A unix socket in `client`'s image directory whose connections reach the one in `server`'s
 * (pageSocket): direct host to host when it can, else relayed through this machine. Nothing
 * needs to listen at the server's yet: each connection is made to it as it comes. */
export async function openPageTunnel(client: TunnelEnd, server: TunnelEnd, counter: ByteCounter): Promise<PageTunnel> {
  let reason: string | undefined;
  if (!client.helper.host.isLocal && !server.helper.host.isLocal) {
    try {
      return await openDirect(client, server, counter);
    } catch (err) {
      reason = clauseFor(err);
    }
  }
  const socket = pageSocket(client.dir);
  const bridge = await bridgePort(client.helper.host, server.helper.host, pageSocket(server.dir), counter, { path: socket });
  let closed = false;
  const close = () => {
    closed = true;
    return bridge.close();
  };
  // It listens on this machine's SSH connection, which reopens on its next use.
  return { socket, route: reason === undefined ? 'local' : 'relayed', relayedBecause: reason, serving: () => !closed, close, abort: close };
}

async function openDirect(client: TunnelEnd, server: TunnelEnd, counter: ByteCounter): Promise<PageTunnel> {
  const s = server.helper.host;
  const address = s.address;
  if (!address) throw new Error(`${s.name}'s address is unknown`);
  if (/^(localhost|127\.|::1$|\[::1\])/.test(address)) throw new Error(`${s.name}'s address here, ${address}, is this machine's loopback`);

  const keys = parseKeyValues(await client.helper.run(['direct-client', client.dir, address]));
  const sshd = await start(server.helper, ['direct-server', server.dir, pageSocket(server.dir), keys.pubkey ?? '', keys.via ?? '']);
  const sshdValues = parseKeyValues(sshd.stdout());
  try {
    const socket = pageSocket(client.dir);
    const tunnel = await start(client.helper, [
      'direct-tunnel', client.dir, address, String(sshd.port), sshdValues.user ?? '', sshdValues.hostkey ?? '', socket, pageSocket(server.dir),
    ]);
    let closing: Promise<void> | undefined;
    let ended = false;
    const end = () => (ended = true);
    void Promise.race([sshd.done, tunnel.done]).then(end, end);
    const finish = async (graceful: boolean) => {
      if (graceful) {
        // End of stdin: the remote end of the session ends, and ssh exits once the forwarded
        // connections closed, reporting what it moved.
        tunnel.cmd.stdin.end();
        const timer = setTimeout(() => void tunnel.stop(), 10_000);
        await tunnel.cmd.exited;
        clearTimeout(timer);
        counter.bytes += Number(/^bytes=(\d+)$/m.exec(tunnel.stdout())?.[1] ?? 0);
      } else {
        await tunnel.stop();
      }
      await sshd.stop();
    };
    return {
      socket,
      route: 'direct',
      serving: () => !ended && !closing,
      close: () => (closing ??= finish(true)),
      abort: () => (closing ??= finish(false)),
    };
  } catch (err) {
    await sshd.stop();
    throw err;
  }
}

/** A `direct-*` command, once it printed `ready [PORT] PID`; rejects with its last stderr line
 * if it ends first. */
function start(helper: HostHelper, args: string[]): Promise<HelperService> {
  return startService(helper, args, 'ready', (stderr, error) => {
    const why = stderr.trim().split('\n').pop() || error?.message || `${args[0]} ended early`;
    return new Error(`${helper.host.name}: ${why}`);
  });
}
