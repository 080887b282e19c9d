#!/bin/sh
# The verbs about the daemon itself, through the real binaries: timers
# firing when the clock passes them and stuck as time goes by, backup (a
# copy another docketd can serve), and reload (a broken file is refused
# and the old definition stays; a new version serves new cases while
# running ones keep theirs; a broken docket.yaml keeps the users in force).
docket=$1
docketd=$2
src=$3
. "$src/tests/cli/tap.sh"
. "$src/tests/cli/home.sh"

workflows=$tmp/workflows
mkdir -p "$workflows"
cp "$src"/workflows/*.yaml "$workflows"/
start_daemon || { echo "Bail out! docketd did not start"; exit 1; }

old=$(dk --as alice new sales-order -s customer=ACME -s product=W -s quantity=5)

# --- timers and stuck ----------------------------------------------------------

cs=$(dk --as carl new customer-service -s kind=inquiry -s customer=Initech -s subject="Price list?")
dk --as carl advance "$cs" route >/dev/null
dk --as carl advance "$cs" promise_reply -s reply_promised_by=2025-03-05 >/dev/null
is "the inquiry waits for its promised reply" "$(stage_of "$cs")" "reply_pending"
advance_clock $((2 * 86400 + 60))
is "two days later the timer has fired" "$(wait_stage "$cs" reply_overdue)" "reply_overdue"
run history "$cs"
has "the timer acted as system" "$out" "system"
has "the timer's event is in the history" "$out" "promise_due: reply_pending -> reply_overdue"

advance_clock $((6 * 3600))
run stuck -w customer-service
is "stuck -w exits 0" "$rc" 0
has "the overdue reply is stuck" "$out" "$cs"
has "with its owner role" "$out" "cs_manager"
has "and why" "$out" "late: past its 4h SLA"
run stuck
has "stuck without -w shows every workflow" "$out" "$old"
run stats customer-service
ok "stats counts the late case" sh -c "printf '%s\n' '$out' | grep -Eq '^reply_overdue +1 +1 '"

# --- backup --------------------------------------------------------------------

run backup "$tmp/copy"
is "backup exits 0" "$rc" 0
has "backup says where" "$out" "backup written to $tmp/copy"
cp "$home/docket.yaml" "$tmp/copy/"
"$docketd" --home "$tmp/copy" --workflows "$workflows" >>"$tmp/copy.log" 2>&1 &
copy_pid=$!
for _ in $(seq 200); do
	DOCKET_TIMEOUT=2 "$docket" --home "$tmp/copy" status >/dev/null 2>&1 && break
	sleep 0.05
done
c=$("$docket" --home "$tmp/copy" show --json "$old" | sed -n 's/^  "id": "\(.*\)",$/\1/p')
is "a docketd on the backup serves the cases" "$c" "$old"
stop_pid "$copy_pid"
is "that docketd stops cleanly" "$?" 0

# --- reload ------------------------------------------------------------------

sed -i 's/^    owner: ops$/    owmer: ops/' "$workflows/sales-order.yaml"
run reload
is "reload of a broken file exits 1" "$rc" 1
has "the mistake is reported at its place" "$err" "sales-order.yaml:"
has "the mistake is named" "$err" "owmer"
is "the last line says what stays" "$(printf '%s\n' "$err" | tail -1)" \
	"docket reload: 1 workflow file refused; the definition in force before stays"
has "the other files are still loaded" "$out" "loaded: sales-lead v1"
run workflows
has "the old definition stays in force" "$out" "sales-order       v1"
run --as alice new sales-order -s customer=B -s product=W -s quantity=1
is "new cases still open under the old definition" "$rc" 0

cp "$src/workflows/sales-order.yaml" "$workflows/sales-order.yaml"
sed -i 's/^version: 1$/version: 2/' "$workflows/sales-order.yaml"
run reload
is "reload of a fixed, newer file exits 0" "$rc" 0
has "reload says what changed" "$out" "loaded: sales-order v2"
new=$(dk --as alice new sales-order -s customer=C -s product=W -s quantity=1)
is "a new case uses version 2" "$(dk show --json "$new" | sed -n 's/^  "version": \(.*\),$/\1/p')" 2
is "a running case keeps version 1" "$(dk show --json "$old" | sed -n 's/^  "version": \(.*\),$/\1/p')" 1

cp "$home/docket.yaml" "$tmp/docket.yaml.good"
printf 'users:\n  alice: [sales\n' > "$home/docket.yaml"
run reload
is "reload with a broken docket.yaml exits 1" "$rc" 1
has "it names the file" "$err" "docket.yaml"
run --as alice show "$old"
is "the users in force before still work" "$rc" 0
cp "$tmp/docket.yaml.good" "$home/docket.yaml"
run reload
is "a mended docket.yaml reloads" "$rc" 0

stop_daemon
is "docketd stops cleanly" "$?" 0
done_testing
