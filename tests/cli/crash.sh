#!/bin/sh
# kill -9 in the middle of work, then a restart: every case and every
# transition docket reported done (exit 0) is there, in its stage, with its
# history complete, and the store passes its own check.  Three writers run
# at once so the crash lands among group commits.
docket=$1
docketd=$2
src=$3
. "$src/tests/cli/tap.sh"
. "$src/tests/cli/home.sh"

start_daemon || { echo "Bail out! docketd did not start"; exit 1; }

# writer N: create and confirm orders until docket fails; record each
# acknowledged step in its own file (one writer per file, no interleaving).
writer() {
	for i in $(seq 200); do
		id=$(dk --as alice new sales-order -s customer="W$1-$i" -s product=P \
			-s quantity="$i") || return
		echo "$id" >> "$tmp/created.$1"
		dk --as alice advance "$id" confirm -s spec=s -s unit_price=1.5 \
			-s delivery_date=2025-05-01 >/dev/null || return
		echo "$id" >> "$tmp/confirmed.$1"
	done
}
for w in 1 2 3; do
	: > "$tmp/created.$w"
	: > "$tmp/confirmed.$w"
	writer $w 2>/dev/null &
done
# Let them get going, then pull the plug.
for _ in $(seq 400); do
	[ "$(cat "$tmp"/confirmed.* | wc -l)" -ge 30 ] && break
	sleep 0.05
done
kill9_daemon
wait
created=$(cat "$tmp"/created.* | sort -u)
confirmed=$(cat "$tmp"/confirmed.* | sort -u)
ok "the writers got work acknowledged before the crash" test "$(lines "$confirmed")" -ge 30

t0=$(date +%s%3N)
run status
t1=$(date +%s%3N)
is "after kill -9, docket says the daemon is not running" "$rc" 1
has "with the command that starts it" "$err" "start it with: docketd --home $home"
ok "and says it at once" test $((t1 - t0)) -lt 2000

start_daemon
is "docketd restarts on the same home" "$?" 0
missing=0
for id in $created; do
	dk show --json "$id" >/dev/null 2>&1 || missing=$((missing + 1))
done
is "every acknowledged case survived ($(lines "$created") cases)" "$missing" 0
wrong=0
for id in $confirmed; do
	[ "$(stage_of "$id")" = stock_check ] || wrong=$((wrong + 1))
	n=$(dk history --json "$id" | grep -c '"seq":')
	[ "$n" -eq 2 ] || wrong=$((wrong + 1))
done
is "every acknowledged transition survived, history complete ($(lines "$confirmed"))" "$wrong" 0
run check
is "the store passes its check after the crash" "$rc" 0
# The ids go on without reuse: a new case gets a fresh one.
id=$(dk --as alice new sales-order -s customer=After -s product=P -s quantity=1)
case " $(echo $created) " in *" $id "*) reused=yes ;; *) reused=no ;; esac
is "a case id is never reused after a crash" "$reused" "no"

stop_daemon
is "docketd stops cleanly after the restart" "$?" 0
done_testing
