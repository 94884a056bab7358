helper=$1; shift; a=("$@"); i=0
while [ $i -lt ${#a[@]} ] && [ "${a[i]}" != --file ] && [ "${a[i]}" != --read ]; do i=$((i + 1)); done
while [ "${a[i]:-}" = --file ] || [ "${a[i]:-}" = --read ]; do
	if [ "${a[i]}" = --read ]; then eval "exec ${a[i + 1]}<\"\${a[i + 2]}\"" || exit 1
	else eval "exec ${a[i + 1]}>>\"\${a[i + 2]}\"" || exit 1; fi
	i=$((i + 3))
done
exec sh "$helper" "$@"
