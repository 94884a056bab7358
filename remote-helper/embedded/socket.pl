# Core functions only: loading Socket and POSIX took ~15 ms, and the dump connects through this
# while the process is frozen. Linux's AF_UNIX and SOCK_STREAM are 1; where the type differs
# (MIPS) the first try fails and the Socket module gives it.
my ($mode, $path, @cmd) = @ARGV;
my $address = pack('S Z108', 1, $path);
sub stream_socket {
	my ($type) = @_;
	socket(my $s, 1, $type, 0) or return;
	if ($mode eq "connect") { connect($s, $address) or return }
	else { unlink $path; bind($s, $address) and listen($s, 1) or return }
	return $s;
}
my $s = stream_socket(1) || do { require Socket; stream_socket(Socket::SOCK_STREAM()) }
	or die($mode eq "connect" ? "cannot connect to $path: $!\n" : "cannot listen at $path: $!\n");
if ($mode ne "connect") {
	$| = 1; print "listening $$\n";
	accept(my $c, $s) or die "cannot accept at $path: $!\n";
	close $s; unlink $path; $s = $c;
	if ($mode eq "accept-go") { my $go = <STDIN>; exit 1 unless defined $go and $go eq "go\n" }
}
# The connection becomes the command's stdin (fd 0, which stays open across exec).
open(STDIN, '+<&', $s) or die "cannot pass the connection on: $!\n";
exec { $cmd[0] } @cmd or die "cannot run $cmd[0]: $!\n";
