use strict; use Socket qw(:addrinfo SOCK_STREAM); use Time::HiRes qw(time);
my ($host, $port, $n) = @ARGV;
$SIG{ALRM} = sub { die "no answer from $host port $port within 4 s\n" };
alarm 4;
my ($err, @ai) = getaddrinfo($host, $port, { socktype => SOCK_STREAM });
die "cannot resolve $host: $err\n" if $err or !@ai;
my $best;
for (1 .. ($n || 2)) {
	my $a = $ai[0];
	socket(my $s, $a->{family}, $a->{socktype}, $a->{protocol}) or die "cannot make a socket: $!\n";
	my $t = time;
	connect($s, $a->{addr}) or die "cannot connect to $host port $port: $!\n";
	my $ms = (time - $t) * 1000;
	close $s;
	$best = $ms if !defined $best or $ms < $best;
}
printf "rtt_ms=%.3f\n", $best;
