# tap.sh - a few lines of TAP for the shell tests; sourced, not run.
# Each check is one test case: `ok N - name` or `not ok N - name`.
tap_n=0
tap_failed=0
ok() {  # ok NAME COMMAND...: passes when COMMAND succeeds
	local what=$1; shift
	tap_n=$((tap_n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $tap_n - $what"
	else
		echo "not ok $tap_n - $what"
		tap_failed=$((tap_failed + 1))
	fi
}
is() {  # is NAME GOT WANT
	tap_n=$((tap_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $tap_n - $1"
	else
		echo "not ok $tap_n - $1"
		printf 'got:  %s\nwant: %s\n' "$2" "$3" | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	fi
}
has() {  # has NAME HAYSTACK NEEDLE
	tap_n=$((tap_n + 1))
	case $2 in
	*"$3"*) echo "ok $tap_n - $1" ;;
	*) echo "not ok $tap_n - $1"
	   printf 'in:   %s\nwant: %s\n' "$2" "$3" | head -20 | sed 's/^/#   /'
	   tap_failed=$((tap_failed + 1)) ;;
	esac
}
done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
