# home.sh - a Docket home with a running docketd, for the shell tests;
# sourced, not run.  Needs $docket, $docketd and $src set and tap.sh
# sourced.  The test's own user is the daemon's administrator, so `--as`
# plays every role listed below.  The clock is a file (docketd
# --clock-file): tests move time by writing it and sending SIGUSR1, and
# nothing ever sleeps to make a case late.
tmp=$(mktemp -d)
home=$tmp/home
clock=$tmp/clock
daemon_pid=
mkdir -p "$home"
chmod 0750 "$home"

# 2025-03-03 09:00:00 UTC, a Monday.
clock_ms=1740992400000
echo "$clock_ms" > "$clock"

cat > "$home/docket.yaml" <<'YAML'
# One user per role of the shipped workflows.
users:
  alice: [sales]
  sam:   [sales_manager]
  olga:  [ops]
  paul:  [procurement]
  pete:  [production]
  lou:   [logistics]
  fred:  [finance]
  lena:  [legal]
  carl:  [customer_service]
  cora:  [cs_manager]
  dana:  [director]
YAML

dk() { "$docket" --home "$home" "$@"; }

# start_daemon [DOCKETD OPTIONS]: start docketd and wait until it answers.
# With $plugins set (the build's plugins directory), stages run those.
start_daemon() {
	"$docketd" --home "$home" --workflows "${workflows:-$src/workflows}" \
		${plugins:+--plugins "$plugins"} --clock-file "$clock" "$@" \
		>>"$tmp/docketd.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 200); do
		DOCKET_TIMEOUT=2 dk status >/dev/null 2>&1 && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "# docketd did not start:"
	sed 's/^/#   /' "$tmp/docketd.log"
	return 1
}

# stop_pid PID: SIGTERM, and wait (at most 10 s) for a clean exit; returns
# its status, or 124 after killing a daemon that would not stop.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "# docketd did not stop within 10 s of SIGTERM; killed"
		kill -KILL "$1"
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# stop_daemon: stop_pid for the home's daemon.
stop_daemon() {
	local pid=$daemon_pid
	daemon_pid=
	[ -n "$pid" ] || return 0
	stop_pid "$pid"
}

# kill9_daemon: no goodbye at all.
kill9_daemon() {
	kill -KILL "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
}

# advance_clock SECONDS: move the daemon's time forward; due timers fire.
advance_clock() {
	clock_ms=$((clock_ms + $1 * 1000))
	echo "$clock_ms" > "$clock"
	kill -USR1 "$daemon_pid"
}

# stage_of CASE: the stage the case is in (from `show --json`).
stage_of() {
	dk show --json "$1" 2>/dev/null | sed -n 's/^  "stage": "\(.*\)",$/\1/p'
}

# wait_stage CASE STAGE: timers fire through a commit of their own; wait
# (at most 10 s) until the case got there.  Prints the stage reached.
wait_stage() {
	local s
	for _ in $(seq 200); do
		s=$(stage_of "$1")
		[ "$s" = "$2" ] && break
		sleep 0.05
	done
	echo "$s"
}

cleanup_home() {
	if [ "${tap_failed:-0}" -gt 0 ] && [ -s "$tmp/docketd.log" ]; then
		echo "# docketd's log:"
		tail -n 40 "$tmp/docketd.log" | sed 's/^/#   /'
	fi
	[ -n "$daemon_pid" ] && kill -KILL "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup_home EXIT

# run NAME ARGS...: run docket, keep stdout/stderr/status in $out $err $rc.
run() {
	"$docket" --home "$home" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# lines STRING: how many lines it has.
lines() { [ -z "$1" ] && echo 0 || printf '%s\n' "$1" | wc -l; }
