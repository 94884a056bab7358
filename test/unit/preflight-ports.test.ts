// The tree's listeners against the destination's sockets (src/migration/preflightPorts.ts), from
// the helper's `port-users` answer as captured on this machine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InetSocket } from '../../src/helper/inspection';
import { parsePortUsers } from '../../src/helper/portUsers';
import { portProblems } from '../../src/migration/preflightPorts';

// python3 -m http.server 27999 --bind 127.0.0.1, then `port-users 27999`; the other lines are
// the same port in other states and on other addresses.
const line = (local: string, remote: string, state: string, inode: number) =>
  `net.tcp\t   1: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 000000003c1d056e 100 0 0 10 0`;
const LISTENER = `${line('0100007F:6D5F', '00000000:0000', '0A', 129476)}\nholder\t129476\t9076\tpython3\n`;

const listener = (localAddress: string, proto: InetSocket['proto'] = 'tcp', localPort = 27999): InetSocket => ({
  proto, localAddress, localPort, remoteAddress: proto === 'tcp' ? '0.0.0.0' : '0:0:0:0:0:0:0:0', remotePort: 0, state: 10, inode: 1,
});

describe('portProblems', () => {
  it('another process listening on the port, at the same or a covering address, is named', () => {
    const users = parsePortUsers(LISTENER);
    assert.deepEqual(portProblems([listener('127.0.0.1')], users, 'lab-b'), [
      'Port 27999 is taken on lab-b: python3 (PID 9076) listens on it there (127.0.0.1), and the process listens on 127.0.0.1:27999; stop that one, or move this process to another host.',
    ]);
    assert.equal(portProblems([listener('0.0.0.0')], users, 'lab-b').length, 1, 'a wildcard covers 127.0.0.1');
    assert.equal(portProblems([listener('0:0:0:0:0:0:0:0', 'tcp6')], users, 'lab-b').length, 1, ':: covers IPv4 too');
  });

  it('other addresses, other ports and sockets in TIME_WAIT leave the listener be', () => {
    const users = parsePortUsers(LISTENER + line('0100007F:6D5F', '0100007F:A000', '06', 0) + '\n');
    assert.deepEqual(portProblems([listener('10.77.0.12')], users, 'lab-b'), []);
    assert.deepEqual(portProblems([listener('0:0:0:0:0:0:0:1', 'tcp6')], users, 'lab-b'), []);
    assert.deepEqual(portProblems([listener('127.0.0.1', 'tcp', 3000)], users, 'lab-b'), []);
    const timeWait = parsePortUsers(line('0C004D0A:BAB3', '0B004D0A:0016', '06', 0));
    assert.deepEqual(portProblems([listener('0.0.0.0', 'tcp', 0xbab3)], timeWait, 'lab-b'), []);
  });

  it('a connection whose local end holds the port says to try again once it closed', () => {
    const users = parsePortUsers(line('0C004D0A:BAB3', '0B004D0A:0016', '01', 5151));
    assert.deepEqual(portProblems([listener('0.0.0.0', 'tcp', 0xbab3)], users, 'lab-b'), [
      'Port 47795 is in use on lab-b right now, as the local end of a connection to 10.77.0.11:22, and the process listens on 0.0.0.0:47795; try again once that connection has closed.',
    ]);
  });
});
