#!/bin/sh
# The benchmark's load generator against a real docketd (what `make bench`
# runs, briefly): the preload, the sales-order route with brief and
# whole-case replies, the route through the no-op plugin, and a store that
# checks clean after them.  No timing is asserted: only that every client
# drove its cases without a refusal and the result lines say so.
docket=$1
docketd=$2
src=$3
plugins=$4
loadgen=$5
. "$src/tests/cli/tap.sh"
. "$src/tests/cli/home.sh"

workflows=$src/bench/workflows
start_daemon || { echo "Bail out! docketd did not start"; exit 1; }
sock=$home/docketd.sock

# result_field LINE KEY: the value of KEY=... in a result line.
result_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

ok "preload of 300 closed cases" "$loadgen" --socket "$sock" --workload sales-order --preload 300
is "they are all closed" "$(dk list --json -w bench-sales-order --all --limit 1000 |
	grep -c '"stage": "closed"')" 300

for args in "sales-order 5 brief docket" "sales-order 3 case docket-case" \
	    "sales-order-noop 4 brief docket-noop"; do
	set -- $args
	line=$("$loadgen" --socket "$sock" --workload "$1" --clients "$2" --reply "$3" \
		--seconds 1 2>"$tmp/err")
	is "$4 with $2 clients finishes cleanly" "$?" 0
	has "$4 reports its line" "$line" "result peer=$4 n=$2 "
	n=$(result_field "$line" transitions)
	ok "$4 committed transitions" test "${n:-0}" -gt "$2"
	[ -s "$tmp/err" ] && sed 's/^/#   /' "$tmp/err"
done

run check
is "the store checks clean after the runs" "$rc" 0
ok "docketd stops cleanly" stop_daemon
done_testing
