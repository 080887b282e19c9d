#!/bin/sh
# The side-by-side benchmark: Docket against PostgreSQL 15, SQLite and raw
# LMDB on the same workload (bench/versus.c: cases of the sales-order
# workflow driven to `closed`) over a preloaded store, in one run on this
# machine.  Docket runs it three times at each N: without plugins, each
# write answered briefly as the SQL peers answer (docket); the same with
# the whole case in every reply (docket-case); and with the no-op plugin in
# every automatic stage (docket-noop).  The peers have no plugins, so their
# rows serve all three.  `make bench` and `make bench-quick` call it;
# docs/performance.md explains the method and the figures.
#
#   sh bench/run.sh BUILD quick|full
#
# It starts its own docketd and PostgreSQL server on a temporary directory
# (Unix sockets only) and removes both, and the directory, on exit or Ctrl-C.
set -eu
build=$(cd "${1:-build}" && pwd)
mode=${2:-quick}
src=$(cd "$(dirname "$0")/.." && pwd)
case $mode in
quick) preload=10000; clients="1 64"; seconds=4 ;;
full) preload=100000; clients="1 8 64"; seconds=10 ;;
*) echo "usage: run.sh BUILD quick|full" >&2; exit 2 ;;
esac
pgbin=/usr/lib/postgresql/15/bin
for p in bench/loadgen bench/versus_pg bench/versus_sqlite bench/versus_lmdb engine/docketd; do
	[ -x "$build/$p" ] || { echo "bench: $build/$p is missing (built only when libpq and sqlite3 are found)" >&2; exit 1; }
done
[ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL 15 is not installed (make bench installs it)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docket-bench.XXXXXX")
chmod 755 "$tmp"
dpid=
pgrun=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -f "$tmp/pg/postmaster.pid" ] && $pgrun "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$tmp/results
: >"$results"
say() { echo "bench: $*" >&2; }

# PostgreSQL runs as `postgres` when we are root (it refuses to run as root).
if [ "$(id -u)" -eq 0 ]; then
	pgrun="runuser -u postgres --"
	mkdir "$tmp/pg" "$tmp/pgsock"
	chown postgres "$tmp/pg" "$tmp/pgsock"
else
	mkdir "$tmp/pgsock"
fi
say "$mode: $preload preloaded cases, clients $clients, ${seconds}s each; $(nproc) cores"

# --- Docket
mkdir -m 750 "$tmp/docket"
"$build/engine/docketd" --home "$tmp/docket" --workflows "$src/bench/workflows" \
	--plugins "$build/plugins" >"$tmp/docketd.log" 2>&1 &
dpid=$!
sock=$tmp/docket/docketd.sock
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
say "docket: preloading"
"$build/bench/loadgen" --socket "$sock" --workload sales-order --preload "$preload"

# --- PostgreSQL
say "postgresql: initdb, start, preload"
$pgrun "$pgbin/initdb" -D "$tmp/pg" -A trust -U postgres -E UTF8 --no-locale >"$tmp/initdb.log" 2>&1
$pgrun "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg/server.log" -w \
	-o "-c listen_addresses='' -k $tmp/pgsock -c synchronous_commit=on -c fsync=on -c full_page_writes=on -c max_connections=120" \
	start >/dev/null
pgpid=$(head -1 "$tmp/pg/postmaster.pid")
conninfo="host=$tmp/pgsock user=postgres dbname=postgres"
"$build/bench/versus_pg" --conninfo "$conninfo" --server-pid "$pgpid" --preload "$preload"

# --- SQLite and raw LMDB: files of their own, preloaded once
say "sqlite, raw lmdb: preload"
"$build/bench/versus_sqlite" --file "$tmp/sqlite.db" --preload "$preload"
"$build/bench/versus_lmdb" --file "$tmp/lmdb.mdb" --preload "$preload"

for n in $clients; do
	say "N=$n"
	"$build/bench/loadgen" --socket "$sock" --workload sales-order --clients "$n" \
		--seconds "$seconds" | tee -a "$results" >&2
	"$build/bench/loadgen" --socket "$sock" --workload sales-order --reply case \
		--clients "$n" --seconds "$seconds" | tee -a "$results" >&2
	"$build/bench/loadgen" --socket "$sock" --workload sales-order-noop --clients "$n" \
		--seconds "$seconds" | tee -a "$results" >&2
	batch=$(awk -v n="$n" '$2 == "peer=docket" && $3 == "n=" n {sub("batch=", "", $11); print $11}' "$results")
	"$build/bench/versus_lmdb" --file "$tmp/lmdb.mdb" --batch "$batch" --clients "$n" \
		--seconds "$seconds" | tee -a "$results" >&2
	"$build/bench/versus_sqlite" --file "$tmp/sqlite.db" --clients "$n" \
		--seconds "$seconds" | tee -a "$results" >&2
	"$build/bench/versus_pg" --conninfo "$conninfo" --server-pid "$pgpid" --clients "$n" \
		--seconds "$seconds" | tee -a "$results" >&2
done

echo
echo "Docket vs PostgreSQL 15 / SQLite WAL / raw LMDB: bench-sales-order to closed," \
	"$preload closed cases preloaded, ${seconds}s per run, $(nproc) cores"
awk -f "$src/bench/table.awk" "$results"
# A peer that failed is in the table, marked; the run fails with it.
! grep -q ' failed=1' "$results"
