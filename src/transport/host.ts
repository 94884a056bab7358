// The contract every other layer uses to reach a machine: this one (`local`, run with execa) or a
// host reached over SSH (ssh2). Nothing above this folder knows which.
import type { Duplex, Readable, Writable } from 'node:stream';

export interface Host {
  /** The name the user gave: `local`, an ssh_config alias, or `user@host[:port]`. */
  readonly name: string;
  readonly isLocal: boolean;
  /** The address this machine connects to (ssh_config HostName), once connected; another host
   * may reach it there too (direct transfers try). Undefined for `local`. */
  readonly address?: string;
  /** Runs a command and collects its output. Resolves on any exit code; rejects only when the
   * command could not be run at all (connection lost, spawn failure). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a command with its streams open, for long-running or streaming work. */
  spawn(argv: readonly string[], options?: SpawnOptions): RunningCommand;
  /** Listens on the host's loopback (127.0.0.1, on `options.port`, else a port chosen by the
   * host), or at the unix socket `options.path`; every connection made to it there is handed
   * to `onConnection`. Rejects with a TransportError when it cannot be bound (in use, say). */
  listen(onConnection: (socket: Duplex) => void, options?: ListenOptions): Promise<Listener>;
  /** Opens a connection to a port on the host's loopback (TCP), or to a unix socket's path. */
  connect(target: number | string): Promise<Duplex>;
  /** Writes a line to the log the host was opened with (verbose output), if any. */
  log?(line: string): void;
  /** Frees the connection (idempotent). */
  close(): Promise<void>;
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Buffer | Readable;
  signal?: AbortSignal;
}

export interface SpawnOptions {
  /** Allocate a pseudo-terminal (remote only): for shell jobs that must own a tty. */
  pty?: { rows: number; cols: number; term?: string };
}

export interface ExecResult {
  code: number | null;
  signal?: string | null;
  /** Set when the connection to the host dropped before the command reported its exit. */
  connectionLost?: boolean;
  stdout: string;
  stderr: string;
}

export interface RunningCommand {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the command ends; never rejects. `connectionLost` when the host's connection
   * dropped first; `error` when the command could not be started at all. */
  readonly exited: Promise<{ code: number | null; signal?: string | null; connectionLost?: boolean; error?: Error }>;
  /** Best effort: over SSH not every server honours signals, so callers that must stop a
   * remote program also keep a way to stop it by PID. */
  kill(signal?: NodeJS.Signals): void;
  /** Resizes the pty, when one was allocated. */
  resize?(rows: number, cols: number): void;
}

export interface ListenOptions {
  /** A fixed port instead of one the host picks. */
  port?: number;
  /** A unix socket at this path instead of a TCP port (only the directory's permissions guard
   * it: put it in a private one). */
  path?: string;
}

export interface Listener {
  /** The TCP port; 0 for a unix socket. */
  readonly port: number;
  close(): Promise<void>;
}

/** What the user is asked when a host presents a key that known_hosts does not list. */
export interface UnknownHostKey {
  /** The name the user gave (ssh_config alias or `user@host[:port]`). */
  name: string;
  /** The name the key is looked up under: HostName, or HostKeyAlias. */
  host: string;
  port: number;
  keyType: string;
  /** `SHA256:…`, as OpenSSH prints it. */
  fingerprint: string;
  knownHostsFile: string;
}

/** `once` trusts the key without recording it (for the session, with askOncePerSession), `always` also records it in known_hosts. */
export type HostKeyDecision = 'once' | 'always' | 'reject';

/** An encrypted private key to unlock. The answer is a passphrase `unlocks` accepted, or undefined
 * when the user gave up (the key is then skipped). */
export interface PassphraseRequest {
  keyFile: string;
  /** Decrypts the key with `passphrase`, locally: true when it is the right one. */
  unlocks(passphrase: string): boolean;
}

export interface HostOptions {
  /** ssh_config to read instead of ~/.ssh/config. */
  sshConfigFile?: string;
  /** Asked for an unknown key when StrictHostKeyChecking is `ask` (the default). Without it, the
   * key is refused with the fingerprint and how to trust it. */
  onUnknownHostKey?: (key: UnknownHostKey) => Promise<HostKeyDecision>;
  /** Asked for the passphrase of an encrypted IdentityFile the agent does not hold. */
  askPassphrase?: (request: PassphraseRequest) => Promise<string | undefined>;
  /** Log lines (never secrets). */
  log?: (line: string) => void;
}

/** A failure the user can act on: `message` is one sentence saying what failed and what to do. */
export class TransportError extends Error {
  constructor(message: string, readonly code: TransportErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export type TransportErrorCode =
  | 'unknown-host'
  | 'unreachable'
  | 'auth-failed'
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'connection-lost'
  | 'config';

/** OpenSSH's StrictHostKeyChecking as we apply it (`no` is treated like `accept-new`). */
export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'ask';

/** What `ssh -v` said of a host's certificate (hostCertificate.ts). */
export type CertificateCheck =
  | { ok: true; /** ssh's description of the certificate (ID, serial, CA, validity). */ certificate: string; /** Where the CA line is. */ caLine?: string }
  | { ok: false; /** ssh's reason, or why ssh could not be asked. */ reason: string };
