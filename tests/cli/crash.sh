#!/bin/sh
# kill -9 in the middle of work, then a restart: every case and every
# transition docket reported done (exit 0) is there, with its history
# complete, and the store passes its own check.  Three writers run at once
# so the crash lands among group commits and plugin runs: each confirmed
# order enters the stock check, whose plugin reserves it in the warehouse
# (in_stock), and the shipping plugin finds no packing list (mismatch, to
# repack).  A stage entry whose outcome was not committed is run again at
# start-up under the same key, so every order is reserved exactly once.
docket=$1
docketd=$2
src=$3
plugins=$4
. "$src/tests/cli/tap.sh"
. "$src/tests/cli/home.sh"

mkdir -p "$home/inventory"
echo '{"items": {"P": {"on_hand": 1000000, "reserved": 0}}}' > "$home/inventory/main.json"

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
# settle CASE: wait (at most 10 s) until the plugins are done with it.
settle() {
	local s
	for _ in $(seq 200); do
		s=$(stage_of "$1")
		case $s in stock_check|shipping) sleep 0.05 ;; *) break ;; esac
	done
	echo "$s"
}
wrong=0
for id in $confirmed; do
	[ "$(settle "$id")" = repack ] || wrong=$((wrong + 1))
	# create, confirm, in_stock (stock), mismatch (shipping): each once.
	n=$(dk history --json "$id" | grep -c '"seq":')
	[ "$n" -eq 4 ] || wrong=$((wrong + 1))
done
is "every acknowledged transition survived and the plugins moved it once ($(lines "$confirmed"))" "$wrong" 0
# What the warehouse holds for orders is what the orders that passed the
# stock check wanted, no more: no reservation twice, none lost.
want=0
for id in $created; do
	[ "$(settle "$id")" = repack ] || continue
	q=$(dk show --json "$id" | sed -n 's/^    "quantity": \([0-9]*\),\{0,1\}$/\1/p')
	want=$((want + q))
done
got=$(sed -n 's/^ *"reserved": \([0-9]*\),\{0,1\}$/\1/p' "$home/inventory/main.json" | head -1)
is "the warehouse reserved each order exactly once ($want units)" "$got" "$want"
run check
is "the store passes its check after the crash" "$rc" 0
# The ids go on without reuse: a new case gets a fresh one.
id=$(dk --as alice new sales-order -s customer=After -s product=P -s quantity=1)
case " $(echo $created) " in *" $id "*) reused=yes ;; *) reused=no ;; esac
is "a case id is never reused after a crash" "$reused" "no"

stop_daemon
is "docketd stops cleanly after the restart" "$?" 0
done_testing
