use Fcntl; my $want = shift; my @held;
for (1 .. 4096) {
	sysopen(my $m, "/dev/ptmx", O_RDWR | O_NOCTTY) or die "cannot open /dev/ptmx: $!\n";
	my $n = pack("I", 0); ioctl($m, 0x80045430, $n) or die "TIOCGPTN: $!\n"; # TIOCGPTN
	my $index = unpack("I", $n);
	if ($index == $want) { close $m; system(@ARGV); exit($? == -1 ? 127 : $? >> 8) }
	exit 3 if $index > $want;
	push @held, $m;
}
exit 3;
