#!/bin/sh
# Wall time of whole `docket show` and `docket advance` processes against a
# docketd on a temporary home: the time a clerk waits at the prompt, with
# process start, connect, request, commit and fsync (advance) and output.
# Prints the median and 10th/90th percentiles of RUNS runs of each, next to
# /bin/true started the same way, which is what the machine adds anyway.
#
#   sh bench/cli_rtt.sh [BUILD] [RUNS]      (defaults: build 200)
set -eu
build=$(cd "${1:-build}" && pwd)
runs=${2:-200}
docket=$build/cli/docket
home=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$home"' EXIT
echo "users: {alice: [sales]}" > "$home/docket.yaml"
"$build/engine/docketd" --home "$home" >"$home/log" 2>&1 &
pid=$!
for _ in $(seq 100); do "$docket" --home "$home" status >/dev/null 2>&1 && break; sleep 0.05; done

dk() { "$docket" --home "$home" --as alice "$@"; }
# A lead in `visits`, whose `visited` event loops back: a real transition
# (fields checked, history written, commit synced) that can repeat.
id=$(dk new sales-lead -s company=Bench)
dk advance "$id" capture >/dev/null
dk advance "$id" classify -s rating=hot -s contact_name=B >/dev/null

# stats LABEL: percentiles of the microseconds on stdin, one per line.
stats() {
	sort -n | awk -v n="$runs" -v what="$1" '{v[NR] = $1}
		END {printf "%-20s median %6.1f ms   p10 %6.1f   p90 %6.1f\n", what,
		     v[int((n + 1) / 2)] / 1000, v[int(n / 10) + 1] / 1000, v[int(n * 9 / 10)] / 1000}'
}
run() {  # run WHAT CMD...: time CMD runs times
	what=$1
	shift
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		a=$(date +%s%N)
		"$@" >/dev/null
		b=$(date +%s%N)
		echo $(((b - a) / 1000))
	done | stats "$what"
}
# $i is the run's number (run's loop variable).
adv() { dk advance "$id" visited -s visits="$i" -s last_visit=2025-03-04; }

echo "runs: $runs each; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
run "/bin/true" /bin/true
run "docket show" dk show "$id"
run "docket show --json" dk show --json "$id"
run "docket advance" adv
