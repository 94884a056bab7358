// Moves bytes between two hosts through this machine, over their SSH connections: no temp files,
// both legs encrypted, and every byte counted for the migration report.
import type { Readable, Writable } from 'node:stream';
import type { Host, Listener, ListenOptions, RunningCommand } from './host';

export interface ByteCounter {
  bytes: number;
}

/** A port on `from`'s loopback (or the unix socket `options.path` there) whose connections
 * reach `target` on `to`: a port on its loopback, or a unix socket's path. Bytes are counted
 * both ways (stop-and-copy pushes pages, post-copy pulls them). `options.port` fixes the port
 * on `from`; `onConnection` hears of each connection. */
export async function bridgePort(
  from: Host,
  to: Host,
  target: number | string,
  counter: ByteCounter,
  options: ListenOptions & { onConnection?: () => void } = {},
): Promise<Listener> {
  const listener = await from.listen((socket) => {
    options.onConnection?.();
    to.connect(target).then(
      (remote) => {
        countInto(socket, counter);
        countInto(remote, counter);
        socket.pipe(remote).pipe(socket);
        const end = () => { socket.destroy(); remote.destroy(); };
        socket.on('error', end);
        remote.on('error', end);
      },
      () => socket.destroy(),
    );
  }, { port: options.port, path: options.path });
  return listener;
}

/** Pipes one command's stdout into another's stdin and waits for both to finish. */
export async function pipeCommands(
  producer: RunningCommand,
  consumer: RunningCommand,
  counter: ByteCounter,
): Promise<{ producer: number | null; consumer: number | null }> {
  countInto(producer.stdout, counter);
  producer.stdout.pipe(consumer.stdin as Writable);
  const [p, c] = await Promise.all([producer.exited, consumer.exited]);
  return { producer: p.code, consumer: c.code };
}

function countInto(stream: Readable, counter: ByteCounter) {
  stream.on('data', (d: Buffer) => (counter.bytes += d.length));
}
