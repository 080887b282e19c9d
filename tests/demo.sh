#!/bin/sh
# make demo: a tour of Docket on the shipped workflows.  First the process
# owner's side (validate, graph), then the daemon and the staff's side:
# docketd starts on a demo home (BUILD/demo-home) with a user for each
# role and the built stage plugins, and the three processes run end to end
# through `docket` alone: staff steps are printed as typed, and the plugins
# do every automatic stage.  The daemon keeps running afterwards so the
# user can go on.
set -eu
build=${1:-build}
docket="$(cd "$build" && pwd)/cli/docket"
docketd="$(cd "$build" && pwd)/engine/docketd"
plugins="$(cd "$build" && pwd)/plugins"
out="$build/demo"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "Validate the shipped workflows (every mistake would show as file:line:col)"
"$docket" validate workflows/*.yaml

step "A mistake, planted in a copy, and how validate reports it"
sed 's/^    owner: ops$/    owmer: ops/' workflows/sales-order.yaml > "$out/typo.yaml"
"$docket" validate "$out/typo.yaml" || true

step "Draw each workflow (Graphviz SVG) and print one as Mermaid"
for wf in workflows/*.yaml; do
	name=$(basename "$wf" .yaml)
	"$docket" graph "$wf" | dot -Tsvg -o "$out/$name.svg"
	echo "drawn: $out/$name.svg"
done
"$docket" graph --format mermaid workflows/customer-service.yaml

# --- the daemon ------------------------------------------------------------

home=$(cd "$build" && pwd)/demo-home
dk() { "$docket" --home "$home" "$@"; }

step "Start docketd on a fresh demo home: $home"
# A daemon left from an earlier demo is stopped first (its pid from status).
if old=$(dk status --json 2>/dev/null | sed -n 's/^  "pid": \([0-9]*\),$/\1/p') && [ -n "$old" ]; then
	echo "stopping the docketd of an earlier demo (pid $old)"
	kill "$old"
	for _ in $(seq 100); do dk status >/dev/null 2>&1 || break; sleep 0.1; done
fi
rm -rf "$home"
mkdir -p "$home"
chmod 0750 "$home"
cat > "$home/docket.yaml" <<'YAML'
# Who may use this home, with which roles.  The user docketd runs as is the
# administrator and may act as any of them with `docket --as USER`.
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
  dana:  [director]
YAML
cat "$home/docket.yaml"
# The warehouse the stock plugin reads (operations keep it up to date).
mkdir -p "$home/inventory" "$home/packing"
echo '{"items": {"W-100": {"on_hand": 10, "reserved": 0}, "X-9": {"on_hand": 5000, "reserved": 0}}}' \
	> "$home/inventory/main.json"
echo "warehouse (HOME/inventory/main.json): 10 x W-100, 5000 x X-9 on hand"
# The demo replays six weeks of work: a clock file holds the daemon's time
# while it does, then is removed and the daemon is back on real time.
clock="$home/demo-clock"
now_s=$(date +%s)
at() { echo $(( (now_s - $1 * 3600) * 1000 )) > "$clock"; }
day() { date -d @$((now_s - $1 * 3600)) +%F; }
at 72
if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi
$detach "$docketd" --home "$home" --workflows "$(pwd)/workflows" --plugins "$plugins" \
	--clock-file "$clock" >"$home/docketd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do dk status >/dev/null 2>&1 && break; sleep 0.1; done
dk status
echo
echo "\$ docket plugins"
dk plugins

# quote ARG: ARG as a person would type it in a shell.
quote() {
	case $1 in
	*[!A-Za-z0-9_./=:@%+-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}

# show_cmd WHO ARGS...: the command as a person types it.
show_cmd() {
	printf '$ docket --as %s' "$1"
	shift
	for a in "$@"; do
		printf ' '
		quote "$a"
	done
	printf '\n'
}

# run WHO ARGS...: show the command, then run it.
run() {
	show_cmd "$@"
	who=$1
	shift
	dk --as "$who" "$@"
}

# new WHO ARGS...: `run` for `docket new`, which prints the id alone; the
# id is kept in $id.
new() {
	show_cmd "$@"
	who=$1
	shift
	id=$(dk --as "$who" "$@")
	echo "$id"
}

# stage_of CASE: the case's stage, from `docket show --json`.
stage_of() {
	dk show --json "$1" 2>/dev/null | sed -n 's/^  "stage": "\(.*\)",$/\1/p'
}

# moved CASE STAGE: the history line of the system (a plugin or a timer)
# moving CASE out of STAGE, without its number, time and actor.
moved() {
	dk history "$1" | grep "system  .*: $2 -> " | tail -1 | sed 's/.*system  *//'
}

# auto CASE STAGE PLUGIN: CASE entered STAGE, whose PLUGIN runs in a plugin
# host; wait (at most 10 s) until it moved the case on, then say what the
# plugin did (its entry in the case's history).
auto() {
	for _ in $(seq 200); do
		[ -n "$(moved "$1" "$2")" ] && break
		sleep 0.05
	done
	if [ -z "$(moved "$1" "$2")" ]; then
		echo "demo: nothing moved $1 out of $2; see $home/docketd.log" >&2
		exit 1
	fi
	printf '   [%s] %s\n' "$3" "$(moved "$1" "$2")"
}

step "Customer development: a lead becomes a signed contract (three days ago)"
new alice new sales-lead -s company="Globex" -s source=referral -m "met at the fair"
lead=$id
run alice advance "$lead" capture
run alice advance "$lead" classify -s rating=hot -s segment=key_account -s contact_name="Hank Scorpio"
at 70
run alice note "$lead" "visited the plant; they want 500 units a quarter"
run alice advance "$lead" visited -s visits=1 -s last_visit="$(day 70)"
run alice advance "$lead" propose -s needs="500 units a quarter" -s quantity=500 -s unit_price=20
auto "$lead" proposal "price plugin"
at 60
contract="Supply agreement. 1. Liability cap. 2. Warranty. 3. Delivery terms. 4. Confidentiality. 5. Governing law: Dutch law."
run alice advance "$lead" agree -s contract_value=9200 -s payment_terms=net30 -s contract_text="$contract"
auto "$lead" legal_check "legal-check plugin"
run lena advance "$lead" approve -s contract_no=C-1001
at 50
run alice advance "$lead" signed -s signed_on="$(day 50)"
auto "$lead" archiving "archive plugin"
auto "$lead" notifying "notify plugin"
echo "   (archived as HOME/$(dk show --json "$lead" | sed -n 's/^    "archive_ref": "\(.*\)",\{0,1\}$/\1/p'))"
run fred inbox
lost=$(dk --as alice new sales-lead -s company="Hooli")
dk --as alice advance "$lost" drop -s lost_reason=competitor >/dev/null
echo "(and $lost was lost to a competitor)"
waiting=$(dk --as alice new sales-lead -s company="Initech" -s source=trade_show)
for e in capture "classify -s rating=warm -s contact_name=Bill" \
	 "visited -s visits=1 -s last_visit=$(day 50)" \
	 "propose -s needs=racks -s quantity=100 -s unit_price=80"; do
	# shellcheck disable=SC2086
	dk --as alice advance "$waiting" $e >/dev/null
done
auto "$waiting" proposal "price plugin" >/dev/null
dk --as alice advance "$waiting" agree -s contract_value=7600 >/dev/null
auto "$waiting" legal_check "legal-check plugin" >/dev/null
echo "(and $waiting went back to sales: the legal-check plugin found no contract text;"
echo " its contract_gaps field says what is missing)"

step "Sales order: stock is short, production makes it, shipped, invoiced (six weeks ago)"
at 1000
new alice new sales-order -s customer="ACME" -s product=W-100 -s quantity=40
order=$id
run alice advance "$order" confirm -s spec="40 blue, boxed" -s unit_price=12.50 \
	-s delivery_date="$(day -480)" -m "confirmed by phone"
auto "$order" stock_check "stock plugin"
run olga advance "$order" plan -s supply=produce -s revised_delivery_date="$(day -600)"
run alice advance "$order" customer_told
auto "$order" production_order "production plugin"
at 980
echo '{"lines": [{"product": "W-100", "quantity": 40}]}' > "$home/packing/$order.json"
echo "(the warehouse packs it and lists it in HOME/packing/$order.json: 40 x W-100)"
run pete advance "$order" produced
auto "$order" shipping "shipping plugin"
run alice advance "$order" customer_told
auto "$order" invoicing "invoice plugin"
echo "A refusal reads like this (sales may not record a payment):"
run alice advance "$order" paid -s paid_on="$(day 970)" || true
echo
echo "30 days pass without payment: the demo moves the daemon's clock, and the"
echo "collection stage's 30-day timer fires its overdue event."
at 260
kill -USR1 "$pid"
auto "$order" collection "collection timer, 30 days"
auto "$order" dunning "notify plugin"
run fred inbox
run fred advance "$order" promised -s promised_payment="$(day 200)" -m "customer will pay next week"
late=$(dk --as alice new sales-order -s customer="Umbrella" -s product=X-9 -s quantity=300)
at 30
dk --as alice advance "$late" confirm -s spec="300 units" -s unit_price=3 \
	-s delivery_date="$(day -240)" >/dev/null
auto "$late" stock_check "stock plugin" >/dev/null
auto "$late" shipping "shipping plugin" >/dev/null
echo "(and $late was reserved, but logistics has not repacked it since: no packing list)"

step "Customer service: a major complaint goes to the director"
at 48
new carl new customer-service -s kind=complaint -s customer="ACME" \
	-s subject="Scratched units" -s details="All 40 units arrived scratched." -s order_ref="$order"
cs=$id
run carl advance "$cs" route
run carl advance "$cs" acknowledge -s severity=major
at 40
run dana list -w customer-service --stage director_review
run dana advance "$cs" resolve -s resolution="Replace all 40 units" -s compensation=500
run carl advance "$cs" confirmed -s customer_accepted=true
at 26
open=$(dk --as carl new customer-service -s kind=complaint -s customer="Initech" \
	-s subject="Wrong invoice address" -s details="Sent to the old office.")
dk --as carl advance "$open" route >/dev/null
dk --as carl advance "$open" acknowledge -s severity=major >/dev/null
echo "(and $open waits for the director since then)"

# Back to real time; SIGUSR1 makes the daemon look at its deadlines again.
rm -f "$clock"
kill -USR1 "$pid"

step "docket show $order"
dk show "$order"

step "docket list (open cases)"
dk list

step "docket stuck (what the director looks at first)"
dk stuck

step "docket stats"
dk stats

step "Go on"
cat <<EOF
docketd keeps running on the demo home (pid $pid, log $home/docketd.log),
with the plugins of $plugins.
Go on as any user of $home/docket.yaml, for example:

  $docket --home $home --as dana list --stage director_review -w customer-service
  $docket --home $home --as dana advance $open resolve -s resolution="Corrected and resent"
  $docket --home $home --as fred inbox
  $docket --home $home history $order

Stop the daemon with:

  kill $pid

(\`make demo\` again starts over on a fresh demo home.)
EOF
