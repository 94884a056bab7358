// The ports the tree listens on must be free on the destination: CRIU binds each listener again
// there, and a port taken by another process fails the restore after the freeze ("Address
// already in use"). Pure functions, unit-tested without hosts.
import { TCP_CLOSE, TCP_LISTEN, TCP_TIME_WAIT, socketInodes, type InetSocket, type ProcessInspection } from '../helper/inspection';
import type { PortUsers } from '../helper/portUsers';

/** The tree's listening TCP sockets. */
export function listeningSockets(inspection: ProcessInspection): InetSocket[] {
  const held = socketInodes(inspection);
  return inspection.inet.filter((s) => s.proto.startsWith('tcp') && s.state === TCP_LISTEN && held.has(s.inode));
}

/** The ports of `sockets`, each once, ascending. */
export function listeningPorts(sockets: readonly InetSocket[]): number[] {
  return [...new Set(sockets.map((s) => s.localPort))].sort((a, b) => a - b);
}

const isWildcard = (address: string) => /^[0:.]+$/.test(address);

/** Whether binding one address keeps the other from binding the same port: the same address,
 * or a wildcard that covers the other (`::` covers IPv4 too, as a dual-stack socket does). */
function overlaps(a: InetSocket, b: InetSocket): boolean {
  return a.localAddress === b.localAddress || covers(a, b) || covers(b, a);
}

/** A wildcard covers its own family's addresses; `::` covers IPv4's too, `0.0.0.0` only `::`. */
function covers(wide: InetSocket, other: InetSocket): boolean {
  const v6 = (s: InetSocket) => s.proto === 'tcp6';
  return isWildcard(wide.localAddress) && (v6(wide) || !v6(other) || isWildcard(other.localAddress));
}

/**
 * A sentence for each listener of the tree whose port a socket on the destination holds: another
 * listener (named with its process), or a connection's local end (a passing one, on a port in the
 * ephemeral range). Sockets in TIME_WAIT are left out: CRIU binds with SO_REUSEADDR, which the
 * usual TIME_WAIT (a server's, or this very process's on its way back) lets through.
 */
export function portProblems(listening: readonly InetSocket[], users: PortUsers, to: string): string[] {
  const problems: string[] = [];
  for (const mine of listening) {
    const taken = users.sockets.find((s) => s.localPort === mine.localPort && s.state !== TCP_TIME_WAIT && s.state !== TCP_CLOSE && overlaps(s, mine));
    if (!taken) continue;
    const at = `${mine.localAddress}:${mine.localPort}`;
    if (taken.state === TCP_LISTEN) {
      const holder = users.holders.get(taken.inode);
      const who = holder ? `${holder.comm || 'a process'} (PID ${holder.pid})` : 'another process';
      problems.push(`Port ${mine.localPort} is taken on ${to}: ${who} listens on it there (${taken.localAddress}), and the process listens on ${at}; stop that one, or move this process to another host.`);
    } else {
      problems.push(
        `Port ${mine.localPort} is in use on ${to} right now, as the local end of a connection to ${taken.remoteAddress}:${taken.remotePort}, and the process listens on ${at}; try again once that connection has closed.`,
      );
    }
  }
  return problems;
}
