// Host certificates (`@cert-authority` in known_hosts), checked by OpenSSH itself. ssh2 1.17 cannot
// negotiate host certificates: its host key algorithms are the plain ones only (an
// `ssh-ed25519-cert-v01@openssh.com` is "Unsupported algorithm"), so a server always shows ssh2 its
// plain key. To learn whether that key is certified for the host, we let `ssh` connect with only
// the certificate algorithms for that key type, under the same config: it checks the CA, the
// principals, the validity and @revoked, and prints the certificate's key, which must be the key
// ssh2 was shown. ssh never gets that far in authentication (every method is off), and it never
// records anything (StrictHostKeyChecking yes) nor reuses a master connection.
import { execFile } from 'node:child_process';
import { fingerprintSha256, keyTypeOf } from './knownHosts';
import type { CertificateCheck } from './host';
import { parseDestination } from './sshConfig';

export type { CertificateCheck };

export interface CertificateTarget {
  /** The name as given: an alias or `user@host[:port]`. */
  name: string;
  sshConfigFile?: string;
  connectTimeoutMs: number;
}

/** The certificate host key algorithms for a plain key type. */
function certificateAlgorithms(keyType: string): string {
  if (keyType === 'ssh-rsa') return 'rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com';
  return `${keyType}-cert-v01@openssh.com`;
}

export function verifyHostCertificate(target: CertificateTarget, key: Buffer, ssh = 'ssh'): Promise<CertificateCheck> {
  const dest = parseDestination(target.name);
  const args = [
    '-v',
    '-T',
    ...(target.sshConfigFile ? ['-F', target.sshConfigFile] : []),
    ...(dest.user ? ['-l', dest.user] : []),
    ...(dest.port ? ['-p', String(dest.port)] : []),
    ...['BatchMode=yes', 'StrictHostKeyChecking=yes', 'UpdateHostKeys=no', 'ControlMaster=no', 'ControlPath=none', 'PermitLocalCommand=no', 'ClearAllForwardings=yes', 'ForwardAgent=no']
      .concat(['PubkeyAuthentication=no', 'PasswordAuthentication=no', 'KbdInteractiveAuthentication=no', 'GSSAPIAuthentication=no', 'HostbasedAuthentication=no'])
      .concat([`HostKeyAlgorithms=${certificateAlgorithms(keyTypeOf(key))}`, `ConnectTimeout=${Math.ceil(target.connectTimeoutMs / 1000)}`])
      .flatMap((o) => ['-o', o]),
    dest.host,
    'true',
  ];
  return new Promise((resolve) => {
    const child = execFile(ssh, args, { timeout: target.connectTimeoutMs + 10_000, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        return resolve({ ok: false, reason: `OpenSSH's ssh, which checks host certificates for procmig, is not installed` });
      }
      // `debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com SHA256:…, serial 0 ID "…" CA …`
      const presented = /Server host certificate: (\S+) (SHA256:[A-Za-z0-9+/]+)(.*)$/m.exec(stderr);
      const accepted = /Host '[^']*' is known and matches the \S+-CERT host certificate/.test(stderr);
      if (presented && accepted && presented[2] === fingerprintSha256(key)) {
        const ca = /Found CA key in (\S+)/.exec(stderr)?.[1];
        return resolve({ ok: true, certificate: `${presented[1]} ${presented[2]}${presented[3]!.replace(/^,/, '')}`.trim(), caLine: ca });
      }
      if (presented && accepted) return resolve({ ok: false, reason: `its certificate is for another key (${presented[2]}) than the one it showed procmig` });
      // The last line ssh meant for people, before its summary "Host key verification failed.".
      const lines = stderr.split('\n').map((l) => l.trim());
      const said = lines.filter((l) => l && !/^(debug\d?:|@|OpenSSH_|Pseudo-terminal|Permission denied|Warning: Permanently)/.test(l));
      const why = said.filter((l) => !/^Host key verification failed/.test(l)).pop() ?? said.pop();
      resolve({ ok: false, reason: why ? `ssh says: ${why.replace(/\.$/, '')}` : 'it presented no host certificate ssh could check' });
    });
    child.stdin?.end();
  });
}
