// The helper's `port-users` answer: the host's TCP sockets on some local ports, and the process
// that holds each listening one.
import { parseInetLine, type InetSocket } from './inspection';

export interface PortUsers {
  sockets: InetSocket[];
  /** Socket inode → the process holding it (listening sockets only). */
  holders: Map<number, { pid: number; comm: string }>;
}

export function parsePortUsers(text: string): PortUsers {
  const users: PortUsers = { sockets: [], holders: new Map() };
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'net.tcp' || f[0] === 'net.tcp6') {
      const s = parseInetLine(f[0].slice(4) as InetSocket['proto'], f[1]);
      if (s) users.sockets.push(s);
    } else if (f[0] === 'holder' && f.length >= 3) {
      users.holders.set(Number(f[1]), { pid: Number(f[2]), comm: f.slice(3).join('\t') });
    }
  }
  return users;
}
