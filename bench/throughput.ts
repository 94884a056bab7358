// npm run bench:throughput [-- MiB] — how fast bytes get from lab-a to lab-b on each path the
// engine can take, and how fast zstd -1 compresses on lab-a: the numbers behind the transfer
// route (relayed through this machine or direct host to host) and the compression decision.
//
//   relay, exec pipe     ssh2: `head` on lab-a → this machine → `cat` on lab-b (the tar stream's path)
//   relay, socket bridge ssh2: a unix socket on lab-a → this machine → a unix socket on lab-b
//                        (the relayed pages' path: bridgePort, streamlocal forwardIn + forwardOut)
//   direct, OpenSSH      lab-a runs `ssh` to lab-b with a one-time key (the direct route's path)
//   zstd -1              on lab-a, alone and in the direct pipe, on the bench's memory and a
//                        mix of code and random data
//
// Nothing here asserts; it prints MiB/s.
import { bridgePort, pipeCommands } from '../src/transport/bridge';
import { SshHost } from '../src/transport/sshHost';
import { DESTINATION, DESTINATION_ADDRESS, SOURCE, now, sshConfig } from './lab';

const mib = Number(process.argv[2] ?? 512);
const bytes = mib << 20;

async function run(host: SshHost, script: string): Promise<string> {
  const r = await host.exec(['sh', '-c', script]);
  if (r.code !== 0) throw new Error(`${host.name}: ${script}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

const rate = (ms: number, n = bytes) => `${((n / (1 << 20)) / (ms / 1000)).toFixed(0)} MiB/s (${(ms / 1000).toFixed(2)} s)`;

async function main(): Promise<void> {
  const [a, b] = await Promise.all([SshHost.connect(SOURCE, { sshConfigFile: sshConfig }), SshHost.connect(DESTINATION, { sshConfigFile: sshConfig })]);
  try {
    // 1. exec pipe through this machine.
    let t = now();
    await pipeCommands(a.spawn(['head', '-c', String(bytes), '/dev/zero']), b.spawn(['sh', '-c', 'cat >/dev/null']), { bytes: 0 });
    console.log(`relay, exec pipe:    ${rate(now() - t)}`);

    // 2. socket bridge through this machine: socat sink on lab-b, socat source on lab-a, each at
    // a unix socket in a private directory, as the page sockets are.
    const socks = `/tmp/throughput-socks-${process.pid}`;
    await Promise.all([a, b].map((h) => run(h, `mkdir -m 700 -p ${socks}`)));
    const sink = b.spawn(['sh', '-c', `exec socat -u UNIX-LISTEN:${socks}/sink OPEN:/dev/null`]);
    await new Promise((r) => setTimeout(r, 300));
    const bridge = await bridgePort(a, b, `${socks}/sink`, { bytes: 0 }, { path: `${socks}/entry` });
    t = now();
    await run(a, `head -c ${bytes} /dev/zero | socat -u - UNIX-CONNECT:${socks}/entry`);
    await sink.exited;
    console.log(`relay, socket bridge: ${rate(now() - t)}`);
    await bridge.close();
    await Promise.all([a, b].map((h) => run(h, `rm -rf ${socks}`)));

    // 3. OpenSSH host to host with a throwaway key, the way the direct route goes.
    const dir = `/tmp/throughput-${process.pid}`;
    const pub = await run(a, `mkdir -p ${dir} && ssh-keygen -q -t ed25519 -N '' -f ${dir}/key && cat ${dir}/key.pub`);
    await run(b, `mkdir -p ${dir} && ssh-keygen -q -t ed25519 -N '' -f ${dir}/host && printf '%s\\n' '${pub}' > ${dir}/auth && cat > ${dir}/cfg <<EOF
ListenAddress ${DESTINATION_ADDRESS}:2299
HostKey ${dir}/host
AuthorizedKeysFile ${dir}/auth
StrictModes no
PidFile none
UsePAM no
EOF`);
    const hostKey = await run(b, `cat ${dir}/host.pub`);
    const sshd = b.spawn(['sh', '-c', `exec /usr/sbin/sshd -D -e -f ${dir}/cfg`]);
    await new Promise((r) => setTimeout(r, 300));
    await run(a, `printf 'p %s\\n' '${hostKey}' | cut -d' ' -f1-3 > ${dir}/kh`);
    const ssh = `ssh -F /dev/null -i ${dir}/key -o IdentitiesOnly=yes -o BatchMode=yes -o HostKeyAlias=p -o UserKnownHostsFile=${dir}/kh -o StrictHostKeyChecking=yes -p 2299 ${DESTINATION_ADDRESS}`;
    const timedOnA = async (pipeline: string) =>
      Number(await run(a, `s=$(date +%s%N); ${pipeline} || exit 1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`));
    for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
      const ms = await timedOnA(`head -c ${bytes} /dev/zero | ${ssh} -c ${cipher} 'cat >/dev/null'`);
      console.log(`direct, OpenSSH ${cipher.replace(/@.*/, '')}: ${rate(ms)}`);
    }

    // 4. zstd -1, alone and in the direct pipe, on two kinds of memory: the bench's workload (1 MiB
    // of random bytes repeated) and a mix of code and data (half /usr/lib, half random).
    await run(
      a,
      `head -c 1048576 /dev/urandom > ${dir}/r && i=0; while [ $i -lt ${mib} ]; do cat ${dir}/r; i=$((i + 1)); done > ${dir}/bench && ` +
        `cat /usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null | head -c ${bytes / 2} > ${dir}/mixed && head -c ${bytes / 2} /dev/urandom >> ${dir}/mixed`,
    );
    for (const data of ['bench', 'mixed']) {
      const size = Number(await run(a, `zstd -1 -q -c ${dir}/${data} | wc -c`));
      const alone = await timedOnA(`zstd -1 -q -c ${dir}/${data} >/dev/null`);
      const plain = await timedOnA(`${ssh} 'cat >/dev/null' < ${dir}/${data}`);
      const zstd = await timedOnA(`zstd -1 -q -c ${dir}/${data} | ${ssh} 'zstd -d -q >/dev/null'`);
      console.log(`${data} memory: zstd -1 alone ${rate(alone)}, ratio ${(bytes / size).toFixed(2)}; direct plain ${rate(plain)}; direct + zstd -1 ${rate(zstd)}`);
    }
    sshd.kill('SIGTERM');
    await run(b, `pkill -f "sshd -D -e -f ${dir}/cfg"; rm -rf ${dir}`).catch(() => undefined);
    await run(a, `rm -rf ${dir}`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
