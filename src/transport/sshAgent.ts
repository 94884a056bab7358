// ssh-agent access that honours IdentitiesOnly: the agent offers only the keys the config names, so
// a server with MaxAuthTries is not exhausted by unrelated agent keys.
import { OpenSSHAgent, type ParsedKey } from 'ssh2';

type IdentityCallback = Parameters<OpenSSHAgent['getIdentities']>[0];

export class OpenSSHAgentFiltered extends OpenSSHAgent {
  /** Public key blobs offered to the server, so IdentityFiles the agent holds are not unlocked again. */
  readonly offered: Buffer[] = [];

  /** `allowed`: public key blobs to keep; undefined keeps every agent key. */
  constructor(socketPath: string, private readonly allowed?: readonly Buffer[]) {
    super(socketPath);
  }

  override getIdentities(cb: IdentityCallback): void {
    super.getIdentities((err, keys) => {
      if (err || !keys) return cb(err, keys);
      const kept = this.allowed ? (keys as ParsedKey[]).filter((k) => this.allowed!.some((blob) => blob.equals(k.getPublicSSH()))) : (keys as ParsedKey[]);
      this.offered.push(...kept.map((k) => k.getPublicSSH()));
      cb(undefined, kept as typeof keys);
    });
  }
}
