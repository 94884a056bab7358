// The way memory pages travel between the two hosts. Relayed through this machine (bridgePort)
// they cross two SSH links and this machine's CPU: 60–160 MiB/s in the lab, where OpenSSH host
// to host does ~400 MiB/s (bench/throughput.ts). So when both hosts are remote, the host whose
// CRIU connects (the client) runs `ssh -L` straight to a one-time sshd on the other (the
// server; remote-helper `direct-*`): still SSH, still host-key checked, keys made where they
// are used and deleted with the images. When the client cannot reach the server, or lacks
// OpenSSH, the relay carries the pages and the report says why.
import type { HostHelper } from '../checkpoint/hostHelper';
import { bridgePort, type ByteCounter } from '../transport/bridge';
import type { RunningCommand } from '../transport/host';

export interface TunnelEnd {
  helper: HostHelper;
  /** The host's private image directory: the one-time keys live in it. */
  dir: string;
}

export interface PageTunnel {
  /** The port on the client's loopback that reaches the server's port. */
  readonly port: number;
  /** `direct`: host to host; `local`: this machine is one end, its SSH link is direct anyway;
   * `relayed`: through this machine, for `relayedBecause`. */
  readonly route: 'direct' | 'local' | 'relayed';
  readonly relayedBecause?: string;
  /** Ends the tunnel once its connections closed, counting the bytes; idempotent. */
  close(): Promise<void>;
  /** Ends it now (rollback); idempotent. */
  abort(): Promise<void>;
}

/** A port on `client`'s loopback whose connections reach `serverPort` on `server`'s: direct
 * host to host when it can, else relayed through this machine. The port may still be coming
 * (a server starting meanwhile). */
export async function openPageTunnel(client: TunnelEnd, server: TunnelEnd, serverPort: number | Promise<number>, counter: ByteCounter): Promise<PageTunnel> {
  let reason: string | undefined;
  if (!client.helper.host.isLocal && !server.helper.host.isLocal) {
    try {
      return await openDirect(client, server, serverPort, counter);
    } catch (err) {
      reason = (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
    }
  }
  const bridge = await bridgePort(client.helper.host, server.helper.host, await serverPort, counter);
  const close = () => bridge.close();
  return { port: bridge.port, route: reason === undefined ? 'local' : 'relayed', relayedBecause: reason, close, abort: close };
}

async function openDirect(client: TunnelEnd, server: TunnelEnd, port: number | Promise<number>, counter: ByteCounter): Promise<PageTunnel> {
  const s = server.helper.host;
  const address = s.address;
  if (!address) throw new Error(`${s.name}'s address is unknown`);
  if (/^(localhost|127\.|::1$|\[::1\])/.test(address)) throw new Error(`${s.name}'s address here, ${address}, is this machine's loopback`);

  const [out, serverPort] = await Promise.all([client.helper.run(['direct-client', client.dir, address]), port]);
  const keys = keyValues(out);
  const sshd = await startService(server.helper, ['direct-server', server.dir, String(serverPort), keys.pubkey ?? '', keys.via ?? '']);
  try {
    const tunnel = await startService(client.helper, [
      'direct-tunnel', client.dir, address, String(sshd.port), sshd.values.user ?? '', sshd.values.hostkey ?? '', String(serverPort),
    ]);
    let closing: Promise<void> | undefined;
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
      port: tunnel.port,
      route: 'direct',
      close: () => (closing ??= finish(true)),
      abort: () => (closing ??= finish(false)),
    };
  } catch (err) {
    await sshd.stop();
    throw err;
  }
}

interface Service {
  cmd: RunningCommand;
  port: number;
  /** `key=value` lines printed before `ready`. */
  values: Record<string, string>;
  stdout(): string;
  stop(): Promise<void>;
}

/** Starts a helper command that prints `ready PORT PID` and runs on; rejects with its last
 * stderr line if it ends first. */
async function startService(helper: HostHelper, args: string[]): Promise<Service> {
  await helper.ensureInstalled();
  const cmd = helper.spawn(args);
  let stdout = '';
  let stderr = '';
  cmd.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    cmd.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^ready (\d+) (\d+)$/m.exec(stdout);
      if (m) resolve({ port: Number(m[1]), pid: Number(m[2]) });
    });
    void cmd.exited.then(({ error }) => {
      const why = stderr.trim().split('\n').pop() || error?.message || `${args[0]} ended early`;
      reject(new Error(`${helper.host.name}: ${why}`));
    });
  });
  let stopped = false;
  return {
    cmd,
    port: ready.port,
    values: keyValues(stdout),
    stdout: () => stdout,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      cmd.kill('SIGTERM');
      await helper.exec(['signal', 'TERM', String(ready.pid)]).catch(() => undefined);
    },
  };
}

function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^(\w+)=(.*)$/gm)) out[m[1]] = m[2];
  return out;
}
