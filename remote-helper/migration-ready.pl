#!/usr/bin/perl
# Starts a command "migration-ready": under a seccomp filter that makes io_uring_setup(2) fail
# with ENOSYS, inherited by every child. CRIU cannot checkpoint an io_uring, and programs that use
# it opportunistically fall back when it is missing: libuv (Node.js 22+) then uses epoll. The
# filter returns an error and never kills, and CRIU dumps and restores it with the process.
#   perl migration-ready.pl CMD [ARG...]
# Perl (Essential on Debian) instead of a compiled binary, so any host can run it as it is.
use strict;
use warnings;
use POSIX qw(uname);

die "usage: migration-ready.pl CMD [ARG...]\n" unless @ARGV;

my %arch = (    # uname -m => [prctl(2) syscall number, AUDIT_ARCH_* of seccomp_data.arch]
    x86_64  => [157, 0xc000003e],
    aarch64 => [167, 0xc00000b7],
);
my $machine = (uname())[4];
my $io_uring_setup = 425;    # the same number on every architecture (the unified table)

if (my $a = $arch{$machine}) {
    my ($prctl, $audit_arch) = @$a;
    # struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
    my @filter = (
        [0x20, 0, 0, 4],                     # ld  seccomp_data.arch
        [0x15, 0, 3, $audit_arch],           # jne -> allow
        [0x20, 0, 0, 0],                     # ld  seccomp_data.nr
        [0x15, 0, 1, $io_uring_setup],       # jne -> allow
        [0x06, 0, 0, 0x00050000 | 38],       # ret SECCOMP_RET_ERRNO | ENOSYS
        [0x06, 0, 0, 0x7fff0000],            # ret SECCOMP_RET_ALLOW
    );
    my $code = join '', map { pack 'S C C L', @$_ } @filter;
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    my $fprog = pack 'S x![P] P' . length($code), scalar(@filter), $code;
    # PR_SET_NO_NEW_PRIVS (38) lets an unprivileged process install a filter.
    syscall($prctl, 38, 1, 0, 0, 0) == 0 or die "migration-ready: PR_SET_NO_NEW_PRIVS: $!\n";
    # PR_SET_SECCOMP (22), SECCOMP_MODE_FILTER (2)
    syscall($prctl, 22, 2, $fprog, 0, 0) == 0 or die "migration-ready: PR_SET_SECCOMP: $!\n";
} else {
    warn "migration-ready: no seccomp filter for $machine; starting without it\n";
}
exec { $ARGV[0] } @ARGV or die "migration-ready: cannot run $ARGV[0]: $!\n";
