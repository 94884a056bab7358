use POSIX (); use Socket (); my ($helper, @a) = @ARGV; my ($i, @keep) = (0);
$i++ while $i < @a && $a[$i] !~ /^--(file|read|socket)$/;
while ($i < @a && $a[$i] =~ /^--(file|read|socket)$/) {
	my ($mode, $n, $path) = @a[$i .. $i + 2];
	my $fh;
	if ($mode eq "--socket") {
		# One end of a stream pair whose other end is closed: reads see end-of-file, writes EPIPE.
		socketpair($fh, my $peer, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) or die "cannot make a socket pair: $!\n";
		close($peer);
	} else { open($fh, $mode eq "--read" ? "<" : ">>", $path) or die "cannot open $path: $!\n" }
	if (fileno($fh) == $n) { fcntl($fh, POSIX::F_SETFD(), 0); push @keep, $fh }
	else { defined POSIX::dup2(fileno($fh), $n) or die "cannot open $path as descriptor $n: $!\n" }
	$i += 3;
}
exec("sh", $helper, @a) or die "cannot run sh: $!\n";
