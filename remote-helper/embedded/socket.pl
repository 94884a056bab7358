use Socket; use POSIX ();
my ($mode, $path, @cmd) = @ARGV;
socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "cannot make a socket: $!\n";
if ($mode eq "connect") {
	connect($s, pack_sockaddr_un($path)) or die "cannot connect to $path: $!\n";
} else {
	unlink $path;
	bind($s, pack_sockaddr_un($path)) and listen($s, 1) or die "cannot listen at $path: $!\n";
	$| = 1; print "listening $$\n";
	accept(my $c, $s) or die "cannot accept at $path: $!\n";
	close $s; unlink $path; $s = $c;
	if ($mode eq "accept-go") { my $go = <STDIN>; exit 1 unless defined $go and $go eq "go\n" }
}
defined POSIX::dup2(fileno($s), 0) or die "cannot pass the connection on: $!\n";
exec { $cmd[0] } @cmd or die "cannot run $cmd[0]: $!\n";
