#!/bin/sh
# Process Migrator's host helper. Uploaded over SSH on first use and cached under
# ~/.cache/process-migrator/, it is all a host needs besides sh, coreutils, procps, perl or
# python3 (for the page sockets), and CRIU: no Node.js. Strictly POSIX (checked under dash).
# Every command prints `key=value` lines or tab-separated records that
# src/checkpoint/hostHelper.ts parses; errors go to stderr as one line.
#
#   caps                      what this host can do (CRIU version and features, CPU features,
#                             load, memory, disk)
#   ps                        every process, two sections: records, then pid<TAB>comm
#   inspect PID               the tree under PID and what CRIU will meet in it (fds, maps, ttys, …)
#   check-files               stdin: path<TAB>size lines; prints those missing or of another size
#   mkimages                  a new private (0700) image directory; prints its path
#   page-server DIR --socket S [--parent NAME]
#                             receives dumped pages into DIR from the one connection made to
#                             the unix socket S (in a private image directory); prints
#                             `listening PID` once S listens. Pre-copy: DIR (made if missing) is
#                             one round's, NAME its sibling holding the round before (linked as
#                             DIR/parent); each round listens at the same S in turn
#   pre-dump PID DIR --pages S [--full] ARGS…
#                             one pre-copy round: criu pre-dump --track-mem into DIR (made if
#                             missing), its pages to the page server reached at the socket S;
#                             the process runs on. Prints `pages_written=`,
#                             `pages_scanned=`, `pages_skipped=`, `page_size=`. --full (a test
#                             mode for kernels without soft-dirty): a whole dump --leave-running
#   dump PID DIR [--pages S] ARGS…
#                             criu dump --leave-stopped into DIR (never kills the source), its
#                             pages to the page server reached at the socket S; with
#                             --leave-running in ARGS (a standby's checkpoint) the process runs on
#   from-login PID…           those of the PIDs started from a login (SSH, a session, an editor)
#   started PID               this boot's id, and when PID started (clock ticks after boot) or `gone`
#   dump-lazy PID DIR --pages S ARGS…
#                             post-copy dump: connects to S, prints `ready PID` once all but
#                             memory is dumped, then serves the pages over S until done
#   lazy-pages DIR --socket S post-copy restore side: prints `listening PID` once S listens,
#                             holds the one connection made to it (the source's dump-lazy), and
#                             once stdin says `go` (the images are in) starts CRIU's lazy-pages
#                             daemon on it; prints `ready PID` once that serves
#   tar-out [--on-go] DIR / tar-in DIR
#                             streams the small non-page images from one host to the other;
#                             --on-go: once stdin says `go` (opened before the freeze)
#   tmpfs-stat PID…           stdin: paths of files on tmpfs the tree (PID…) uses; prints
#                             `path<TAB>file<TAB>size<TAB>allocated<TAB>mode<TAB>uid<TAB>gid`
#                             (or `path<TAB>gone`), and `sharer<TAB>path<TAB>PID<TAB>comm` for
#                             each process outside the tree that maps it or holds it open
#   tmpfs-check               stdin: paths; prints `path<TAB>exists`, `path<TAB>no-dir`,
#                             `path<TAB>not-tmpfs<TAB>FSTYPE` (of its directory here), or
#                             `path<TAB>free<TAB>KIB<TAB>MOUNT` (room left on its filesystem)
#   tmpfs-out PATH… / tmpfs-in DIR PATH…
#                             streams files on tmpfs (POSIX shared memory, /run/user/UID) to the
#                             same paths, owner and mode on the other host; never overwrites;
#                             records what it placed in DIR (an image directory)
#   tmpfs-rm DIR | -- PATH…   removes what tmpfs-in placed per DIR, or the given tmpfs files
#   tmpfs-save DIR PATH… / tmpfs-place DIR
#                             a standby's checkpoint: the tmpfs files into DIR (tmpfs.tar,
#                             tmpfs.paths), and into place from there before its restore
#   direct-client DIR ADDR    direct transfer, client side: a one-time key pair; prints `pubkey=`, `via=`
#   direct-server DIR TARGET PUBKEY [VIA]
#                             a one-time sshd that lets PUBKEY forward to the unix socket TARGET only;
#                             prints `hostkey=`, `user=`, then `ready PORT PID`; runs until TERM
#   direct-tunnel DIR ADDR PORT USER HOSTKEY ENTRY TARGET
#                             ssh -L from the unix socket ENTRY to the socket TARGET behind that
#                             sshd; prints `ready PID`, and `bytes=N` once stdin ended and the
#                             forward closed
#   images-in DIR / images-out DIR SOCKET
#                             a standby's checkpoint over a direct tunnel: images-in unpacks the
#                             one connection to DIR's page socket into DIR (prints `listening
#                             PID`); images-out sends DIR's images to the socket SOCKET
#   direct-rm DIR             removes a finished direct transfer's one-time keys from DIR
#   free-port                 a TCP port nobody listens on here
#   link-rtt ADDR PORT        the round trip to ADDR: a timed TCP connect to PORT (an sshd) there
#   restore DIR [--file N PATH]… [--mkfifo OWNER MODE PATH]… ARGS…
#                             criu restore -d from DIR; prints `pid=N`. Each --file opens PATH
#                             (created if missing, appended to) as fd N (> 3) for --inherit-fd;
#                             --read N PATH opens PATH for reading; --socket N - a socket whose
#                             peer has closed (perl). --mkfifo and --symlink OWNER TARGET PATH
#                             make what is missing (removed if the restore fails). When a PID of the dumped
#                             tree is in use here, restores into a new PID namespace instead
#                             and also prints `taken=P` and `nspid=N` (its PID inside)
#   restore-tty DIR NAME [--file N PATH]… ARGS…
#                             criu restore -j in the foreground inside a new detached tmux
#                             session (NAME, or NAME-2… if taken), so the process gets that
#                             pane's terminal; prints `terminal=MODE` (terminal_mode),
#                             then `session=S` and `pid=N` once it runs
#   places                    stdin: paths; prints `files_dir=D`, then path<TAB>same|cache:
#                             whether the path's directory exists here
#   ptys                      the numbers of the ptys in use here (/dev/pts/N)
#   tty-attach NAME           attaches the caller's pty to a session made by restore-tty; exits
#                             with the process's exit code once it ends
#   tmux-kill NAME            ends a tmux session made by restore-tty
#   state PID                 one word: running, stopped, zombie or gone
#   verify PID                `running` if PID still runs after a moment, else its state
#   signal SIG PID…           sends SIG to each PID that still exists
#   signal-tree SIG ROOT PID… sends SIG to the tree under ROOT (as it is now) and to the PIDs given
#   listener PORT             `pid=N`: the process listening on TCP PORT here (nothing if none)
#   untrace PID TRACER        stops TRACER, the ptrace tracer of PID (gdb, strace), waits until PID
#                             is detached and continues it if that left it stopped
#   guard                     undoes a migration whose orchestrator went away: stdin lines
#                             `tree ROOT PID…` (resumed), `restored PID [SESSION]` (ended),
#                             `images DIR` (removed), `lock NAME` (loopback-unlock), `tmpfs DIR`
#                             (what tmpfs-in placed per DIR, removed); `committed`: the tree
#                             is killed instead of resumed; `done` ends it with nothing undone
#   rmimages DIR              deletes an image directory made by mkimages
#   loopback-lock NAME PORT…  drops loopback TCP between the PORTs (nft table NAME) until
#   loopback-unlock NAME      lifts it: a batch's linked trees are restored one CRIU each
#   run-ready [--cwd DIR] [--tmux NAME] -- CMD ARG…
#                             starts CMD migration-ready (io_uring_setup fails with ENOSYS):
#                             detached in a session of its own, stdin /dev/null, output appended
#                             to a new private log file; or in a new detached tmux session
#                             NAME-N. Prints `pid=` and `log=` or `session=`; `ended=1` (with
#                             `exit_code=` and `last_line=` when known) if it ended at once
#
# Built from remote-helper/parts/ and remote-helper/embedded/ by remote-helper/build.mjs, which
# also puts remote-helper/migration-ready.pl after its last command: `perl -x` runs it from there.
# shellcheck disable=SC2015 # `A && B || die`: dies when either fails, as meant throughout
set -u
# A program the helper starts gets its caller's umask, not the helper's.
CALLER_UMASK=$(umask)
umask 077

PROCMIG_HELPER_VERSION=1
# Root's images, or one directory per user: as a normal user CRIU may run as that user.
if [ "$(id -u)" -eq 0 ]; then IMAGES_BASE=${PROCMIG_IMAGES_DIR:-/var/tmp/process-migrator}
else IMAGES_BASE=${PROCMIG_IMAGES_DIR:-/var/tmp/process-migrator-$(id -u)}; fi
# Where `procmig setup` puts a copy of criu with the file capabilities of CRIU's unprivileged
# mode (cap_checkpoint_restore, cap_sys_ptrace): criu itself stays as the distribution made it.
UNPRIVILEGED_CRIU=${PROCMIG_UNPRIVILEGED_CRIU:-/usr/local/libexec/process-migrator/criu}

die() { printf '%s\n' "$*" >&2; exit 1; }
