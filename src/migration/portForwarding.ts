// Keeps a migrated server reachable where it used to be: each port it listened on at the origin
// (the source host) is listened on again there, on 127.0.0.1, and every connection is carried
// over the two hosts' SSH connections to the same port on the destination's loopback. Nothing
// listens beyond loopback and nothing travels outside SSH.
import type { PortForwarding } from './api';
import { bridgePort } from '../transport/bridge';
import type { Host, Listener } from '../transport/host';

export async function forwardPorts(origin: Host, destination: Host, ports: number[]): Promise<PortForwarding> {
  const listeners: Listener[] = [];
  const failed: { port: number; error: string }[] = [];
  const counter = { bytes: 0 };
  let connections = 0;
  for (const port of [...new Set(ports)]) {
    try {
      listeners.push(await bridgePort(origin, destination, port, counter, { port, onConnection: () => connections++ }));
    } catch (err) {
      failed.push({ port, error: err instanceof Error ? err.message : String(err) });
    }
  }
  let disposed = false;
  return {
    origin: origin.name,
    destination: destination.name,
    ports: listeners.map((l) => l.port),
    failed,
    get connections() {
      return connections;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.allSettled(listeners.map((l) => l.close()));
    },
  };
}
