#!/bin/sh
# make demo: a tour of Docket on the shipped workflows.  First the process
# owner's side (validate, graph), then the daemon and the staff's side:
# docketd starts on a demo home (BUILD/demo-home) with a user for each
# role, and the three processes run end to end through `docket` alone.
# The daemon keeps running afterwards so the user can go on.
set -eu
build=${1:-build}
docket="$(cd "$build" && pwd)/cli/docket"
docketd="$(cd "$build" && pwd)/engine/docketd"
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
  pete:  [production]
  lou:   [logistics]
  fred:  [finance]
  lena:  [legal]
  carl:  [customer_service]
  dana:  [director]
YAML
cat "$home/docket.yaml"
# The demo replays three days of work: a clock file holds the daemon's
# time while it does, then is removed and the daemon is back on real time.
clock="$home/demo-clock"
now_s=$(date +%s)
at() { echo $(( (now_s - $1 * 3600) * 1000 )) > "$clock"; }
at 72
if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi
$detach "$docketd" --home "$home" --clock-file "$clock" >"$home/docketd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do dk status >/dev/null 2>&1 && break; sleep 0.1; done
dk status

# quote ARG: ARG as a person would type it in a shell.
quote() {
	case $1 in
	*[!A-Za-z0-9_./=:@%+-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}

# run WHO ARGS...: show the command as a person types it, then run it.
run() {
	who=$1
	shift
	printf '$ docket --as %s' "$who"
	for a in "$@"; do
		printf ' '
		quote "$a"
	done
	printf '\n'
	dk --as "$who" "$@"
}

step "Customer development: a lead becomes a signed contract (three days ago)"
echo "(Stages with plugins: the plugin host comes in the next release, so the"
echo " person allowed to fire the plugin's outcome event fires it by hand.)"
lead=$(dk --as alice new sales-lead -s company="Globex" -s source=referral -m "met at the fair")
echo "\$ docket --as alice new sales-lead -s company=Globex -s source=referral   -> $lead"
run alice advance "$lead" capture
run alice advance "$lead" classify -s rating=hot -s segment=key_account -s contact_name="Hank Scorpio"
at 70
run alice note "$lead" "visited the plant; they want 500 units a quarter"
run alice advance "$lead" visited -s visits=1 -s last_visit="$(date -d @$((now_s - 70 * 3600)) +%F)"
run alice advance "$lead" propose -s needs="500 units a quarter" -s quantity=500 -s unit_price=20
echo "(price plugin, by hand:)"
run sam advance "$lead" quoted -s quote_total=9200 -s margin_pct=21
at 60
run alice advance "$lead" agree -s contract_value=9200 -s payment_terms=net30
echo "(legal-check plugin, by hand:)"
run lena advance "$lead" complete
run lena advance "$lead" approve -s contract_no=C-2025-001
at 50
run alice advance "$lead" signed -s signed_on="$(date -d @$((now_s - 50 * 3600)) +%F)"
echo "(archive and notify plugins, by hand:)"
run sam advance "$lead" archived
run sam advance "$lead" notified
lost=$(dk --as alice new sales-lead -s company="Hooli")
dk --as alice advance "$lost" drop -s lost_reason=competitor >/dev/null
echo "(and $lost was lost to a competitor)"
waiting=$(dk --as alice new sales-lead -s company="Initech" -s source=trade_show)
for e in capture "classify -s rating=warm -s contact_name=Bill" \
	 "visited -s visits=1 -s last_visit=$(date -d @$((now_s - 50 * 3600)) +%F)" \
	 "propose -s needs=racks -s quantity=100 -s unit_price=80"; do
	# shellcheck disable=SC2086
	dk --as alice advance "$waiting" $e >/dev/null
done
dk --as sam advance "$waiting" quoted -s quote_total=7600 >/dev/null
dk --as alice advance "$waiting" agree -s contract_value=7600 >/dev/null
echo "(and $waiting waits for legal's clause check since then)"

step "Sales order: stock is short, production makes it, shipped, invoiced, paid"
at 72
order=$(dk --as alice new sales-order -s customer="ACME" -s product=W-100 -s quantity=40)
echo "\$ docket --as alice new sales-order -s customer=ACME -s product=W-100 -s quantity=40   -> $order"
run alice advance "$order" confirm -s spec="40 blue, boxed" -s unit_price=12.50 \
	-s delivery_date="$(date -d @$((now_s + 20 * 86400)) +%F)" -m "confirmed by phone"
echo "(stock plugin, by hand:)"
run olga advance "$order" short -s in_stock=10
run olga advance "$order" plan -s supply=produce -s revised_delivery_date="$(date -d @$((now_s + 25 * 86400)) +%F)"
run alice advance "$order" customer_told
echo "(production plugin, by hand:)"
run pete advance "$order" ordered -s production_order=PO-7
at 30
run pete advance "$order" produced
echo "(shipping plugin, by hand:)"
run lou advance "$order" shipped -s tracking=TRK123 -s carrier=DHL -s packing_list_ok=true
run alice advance "$order" customer_told
echo "(invoice plugin, by hand:)"
run fred advance "$order" invoiced -s invoice_no=INV-1
at 2
run fred advance "$order" paid -s paid_on="$(date +%F)" -m "bank transfer"
at 30
late=$(dk --as alice new sales-order -s customer="Umbrella" -s product=X-9 -s quantity=300)
dk --as alice advance "$late" confirm -s spec="300 units" -s unit_price=3 \
	-s delivery_date="$(date -d @$((now_s + 10 * 86400)) +%F)" >/dev/null
echo "(and $late has waited for its stock check since then)"
echo "A refusal reads like this (finance may not answer for the warehouse):"
run fred advance "$late" in_stock || true

step "Customer service: a major complaint goes to the director"
at 48
cs=$(dk --as carl new customer-service -s kind=complaint -s customer="ACME" \
	-s subject="Scratched units" -s details="All 40 units arrived scratched." -s order_ref="$order")
echo "\$ docket --as carl new customer-service -s kind=complaint ...   -> $cs"
run carl advance "$cs" route
run carl advance "$cs" acknowledge -s severity=major
at 40
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
docketd keeps running on the demo home (pid $pid, log $home/docketd.log).
Go on as any user of $home/docket.yaml, for example:

  $docket --home $home --as dana list --stage director_review -w customer-service
  $docket --home $home --as dana advance $open resolve -s resolution="Corrected and resent"
  $docket --home $home history $lead

Stop the daemon with:

  kill $pid
EOF
