// Starting a program "migration-ready" on this machine: under remote-helper/migration-ready.pl,
// whose seccomp filter makes io_uring_setup(2) fail with ENOSYS for it and every child. Programs
// that use io_uring when they can (libuv in Node.js ≥ 22) then fall back to epoll, and CRIU,
// which cannot checkpoint an io_uring, can move them.
import { remoteHelperFile } from '../helper/hostHelper';

/** argv that runs `command` migration-ready here (perl is Essential on Debian: nothing compiled). */
export function migrationReadyArgv(command: readonly string[] = []): string[] {
  return ['perl', remoteHelperFile('migration-ready.pl'), ...command];
}
