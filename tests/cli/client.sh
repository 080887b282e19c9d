#!/bin/sh
# The command line without a daemon, or with a broken one: every verb has
# --help with an example, usage mistakes exit 2 with one line, a missing
# daemon is reported at once with the command that starts it, and a peer
# that never answers, hangs up or talks nonsense costs at most the
# timeout and gives one line and exit 1.  The peers are small python3
# servers on a temporary socket.
docket=$(realpath "$1")
src=$2
. "$src/tests/cli/tap.sh"
tmp=$(mktemp -d)
fake_pid=
stop_fake() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
	fake_pid=
	rm -f "$tmp/home/docketd.sock"
}
trap 'stop_fake; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home"

now_ms() { date +%s%3N; }

# --- help and usage ---------------------------------------------------------

for verb in validate graph workflows new show list advance note assign history \
	    stuck stats inbox retry plugins reload backup check status version; do
	out=$("$docket" "$verb" --help 2>&1); rc=$?
	is "$verb --help exits 0" "$rc" 0
	has "$verb --help shows an example" "$out" "Example:"
	has "$verb --help example runs docket" "$(printf '%s\n' "$out" | sed -n '/^Example:/{n;p}')" "docket "
done
out=$("$docket" --help); rc=$?
is "docket --help exits 0" "$rc" 0
has "docket --help lists the verbs" "$out" "advance"

usage() {  # usage NAME ARGS...: exit 2 and exactly one line on stderr
	local what=$1; shift
	err=$("$docket" --home "$tmp/home" "$@" 2>&1 >/dev/null); rc=$?
	is "usage: $what exits 2" "$rc" 2
	is "usage: $what is one line" "$(printf '%s\n' "$err" | wc -l)" 1
}
usage "no verb"
usage "unknown verb" frobnicate
usage "unknown global option" --frob list
usage "--home without a value" --home
usage "new without a workflow" new
usage "new with two workflows" new a b
usage "-s without =" new sales-order -s customer
usage "-s with an empty name" new sales-order -s =x
usage "-s without a value" new sales-order -s
usage "show without a case" show
usage "show with two cases" show SO-1 SO-2
usage "advance without an event" advance SO-1
usage "advance with a stray argument" advance SO-1 confirm extra
usage "advance with an unknown option" advance SO-1 confirm --force
usage "note without text" note SO-1
usage "assign without a user" assign SO-1
usage "history without a case" history
usage "list with a bad limit" list --limit 0
usage "list with a non-number limit" list --limit lots
usage "list --stage without -w" list --stage received
usage "list --mine with --assignee" list --mine --assignee bob
usage "list with an argument" list sales-order
usage "stuck with a bare workflow" stuck sales-order
usage "stats with two workflows" stats a b
usage "retry without a case" retry
usage "backup without a path" backup
usage "check with an argument" check now
usage "reload with an argument" reload now
usage "status with an option" status --verbose
usage "version with an argument" version 2

err=$("$docket" --home "$tmp/home" new sales-order -s notes=@"$tmp/missing" 2>&1); rc=$?
is "-s FIELD=@FILE with a missing file exits 1" "$rc" 1
has "the missing file is named" "$err" "$tmp/missing"

# --- no daemon --------------------------------------------------------------

for verb in workflows "show SO-1" "list" "advance SO-1 confirm" "note SO-1 hi" \
	    "assign SO-1 bob" "history SO-1" stuck stats inbox "retry SO-1" plugins \
	    reload "backup $tmp/b" check status "new sales-order"; do
	t0=$(now_ms)
	# shellcheck disable=SC2086
	err=$("$docket" --home "$tmp/home" $verb 2>&1 >/dev/null); rc=$?
	t1=$(now_ms)
	is "no daemon: $verb exits 1" "$rc" 1
	is "no daemon: $verb says how to start it" "$err" \
		"docket: docketd is not running on $tmp/home (start it with: docketd --home $tmp/home)"
	ok "no daemon: $verb answers at once" test $((t1 - t0)) -lt 2000
done
err=$(DOCKET_HOME="$tmp/home" "$docket" status 2>&1); rc=$?
has "DOCKET_HOME names the home" "$err" "not running on $tmp/home"

# A socket left behind by a daemon that died: refused, so "not running".
python3 - "$tmp/home/docketd.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()
PY
err=$("$docket" --home "$tmp/home" status 2>&1); rc=$?
is "a stale socket exits 1" "$rc" 1
has "a stale socket means not running" "$err" "docketd is not running"
rm -f "$tmp/home/docketd.sock"

# --- broken peers -----------------------------------------------------------

# fake MODE: a server on HOME/docketd.sock that reads one request and then
# answers per MODE: silent, hangup, garbage, refuse, ok.
fake() {
	python3 - "$tmp/home/docketd.sock" "$1" "$tmp/request.json" <<'PY' &
import json, socket, struct, sys, time
path, mode, log = sys.argv[1:4]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(8)
open(path + ".ready", "w").close()
while True:
    c, _ = srv.accept()
    head = c.recv(4, socket.MSG_WAITALL)
    if len(head) < 4:
        c.close(); continue
    body = c.recv(struct.unpack(">I", head)[0], socket.MSG_WAITALL)
    req = json.loads(body)
    open(log, "w").write(json.dumps(req, sort_keys=True))
    def send(obj):
        b = json.dumps(obj).encode()
        c.sendall(struct.pack(">I", len(b)) + b)
    if mode == "silent":
        time.sleep(30)
    elif mode == "hangup":
        pass
    elif mode == "garbage":
        c.sendall(struct.pack(">I", 9) + b"not json!")
    elif mode == "refuse":
        send({"id": req["id"], "ok": False, "error": {"code": "not_allowed",
              "message": "event 'ship' is not declared by stage 'received' of SO-1"}})
    elif mode == "ok":
        send({"id": req["id"], "ok": True, "result": {"id": "SO-7", "workflow": "sales-order"}})
    c.close()
PY
	fake_pid=$!
	for _ in $(seq 100); do
		[ -e "$tmp/home/docketd.sock.ready" ] && break
		sleep 0.05
	done
	rm -f "$tmp/home/docketd.sock.ready"
}

fake silent
t0=$(now_ms)
err=$(DOCKET_TIMEOUT=1 "$docket" --home "$tmp/home" show SO-1 2>&1); rc=$?
t1=$(now_ms)
is "a daemon that never answers: exit 1" "$rc" 1
has "a daemon that never answers: says so" "$err" "docket show: no reply from docketd within 1 s"
ok "a daemon that never answers: gives up after DOCKET_TIMEOUT" test $((t1 - t0)) -lt 3000
stop_fake

err=$(DOCKET_TIMEOUT=soon "$docket" --home "$tmp/home" status 2>&1); rc=$?
is "a bad DOCKET_TIMEOUT exits 1" "$rc" 1
has "a bad DOCKET_TIMEOUT is explained" "$err" "DOCKET_TIMEOUT must be"

fake hangup
err=$("$docket" --home "$tmp/home" show SO-1 2>&1); rc=$?
is "a daemon that hangs up: exit 1" "$rc" 1
has "a daemon that hangs up: says so" "$err" "docket show: docketd closed the connection"
stop_fake

fake garbage
err=$("$docket" --home "$tmp/home" show SO-1 2>&1); rc=$?
is "a reply that is not JSON: exit 1" "$rc" 1
is "a reply that is not JSON: one line" "$(printf '%s\n' "$err" | wc -l)" 1
stop_fake

fake refuse
err=$("$docket" --home "$tmp/home" advance SO-1 ship 2>&1); rc=$?
is "a refusal exits 1" "$rc" 1
is "a refusal is the daemon's message on one line" "$err" \
	"docket advance: event 'ship' is not declared by stage 'received' of SO-1"
stop_fake

# What goes over the wire: -s values as strings, '' as null, the last -s
# of a field wins, @FILE drops one final newline, --as is sent as "as";
# new asks for the brief reply unless --json wants the case.
printf 'line one\nline two\n' > "$tmp/details.txt"
fake ok
out=$("$docket" --home "$tmp/home" --as alice new sales-order -s quantity=5 -s quantity=7 \
	-s customer=ACME -s spec=@"$tmp/details.txt" -s tracking= -s po=@@x -m "by phone"); rc=$?
is "new exits 0" "$rc" 0
is "new prints the id alone" "$out" "SO-7"
is "the request" "$(cat "$tmp/request.json")" \
	'{"args": {"fields": {"customer": "ACME", "po": "@x", "quantity": "7", "spec": "line one\nline two", "tracking": null}, "note": "by phone", "reply": "brief", "workflow": "sales-order"}, "as": "alice", "id": 1, "op": "new"}'
out=$("$docket" --home "$tmp/home" new --json sales-order); rc=$?
has "new --json prints the case" "$out" '"id": "SO-7"'
is "new --json asks for the case" "$(cat "$tmp/request.json")" \
	'{"args": {"workflow": "sales-order"}, "id": 1, "op": "new"}'
printf 'from stdin\n' | "$docket" --home "$tmp/home" new sales-order -s spec=@- >/dev/null
has "@- reads standard input" "$(cat "$tmp/request.json")" '"spec": "from stdin"'
"$docket" --home "$tmp/home" list --all -w sales-order --limit 5 --mine >/dev/null
is "list sends its filters" "$(cat "$tmp/request.json")" \
	'{"args": {"limit": 5, "mine": true, "workflow": "sales-order"}, "id": 1, "op": "list"}'
"$docket" --home "$tmp/home" list >/dev/null
is "list asks for open cases by default" "$(cat "$tmp/request.json")" \
	'{"args": {"open_only": true}, "id": 1, "op": "list"}'
"$docket" --home "$tmp/home" assign SO-1 '' >/dev/null
has "assign '' sends null" "$(cat "$tmp/request.json")" '"user": null'
( cd "$tmp" && "$docket" --home "$tmp/home" backup copy >/dev/null )
has "backup sends an absolute path" "$(cat "$tmp/request.json")" "\"path\": \"$tmp/copy\""
stop_fake

done_testing
