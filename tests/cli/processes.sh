#!/bin/sh
# The service center's three processes, end to end, through the real
# `docket` and a real `docketd` running the built stage plugins: staff each
# act in their own role (--as), the director where the rules send a case to
# her, and the plugins do every automatic stage.  A lead becomes a signed,
# archived contract (and another is lost), an order short of stock goes
# through production, shipping, invoice and collection, and a major
# complaint is escalated to the director.  Where a case enters a stage with
# a plugin, the test waits (bounded) until the plugin moved it, then checks
# the stage and the fields the plugin wrote.
docket=$1
docketd=$2
src=$3
plugins=$4
. "$src/tests/cli/tap.sh"
. "$src/tests/cli/home.sh"

# The warehouse the stock plugin reads: 10 of the 40 W-100 the order wants.
mkdir -p "$home/inventory" "$home/packing"
echo '{"items": {"W-100": {"on_hand": 10, "reserved": 0}}}' > "$home/inventory/main.json"

start_daemon || { echo "Bail out! docketd did not start"; exit 1; }

# step WHO CASE EVENT WANT [ARGS]: fire an event as WHO and check where it
# went (a stage without a plugin: nothing moves it on by itself).
step() {
	local who=$1 case=$2 event=$3 want=$4
	shift 4
	run --as "$who" advance "$case" "$event" "$@"
	is "$case: $who fires $event (exit 0)" "$rc" 0
	[ "$rc" = 0 ] || printf '#   %s\n' "$err"
	is "$case: $event moves it to $want" "$(stage_of "$case")" "$want"
}

# step_auto WHO CASE EVENT STAGE PLUGIN WANT [ARGS]: fire an event into
# STAGE, whose PLUGIN runs at once; wait until it moved the case to WANT.
step_auto() {
	local who=$1 case=$2 event=$3 stage=$4 plugin=$5 want=$6
	shift 6
	run --as "$who" advance "$case" "$event" "$@"
	is "$case: $who fires $event (exit 0)" "$rc" 0
	[ "$rc" = 0 ] || printf '#   %s\n' "$err"
	has "$case: $event moves it to $stage" "$out" "$event -> $stage "
	is "$case: the $plugin plugin moves it on to $want" "$(wait_stage "$case" "$want")" "$want"
}

# field_of CASE FIELD: the field's value as the administrator sees it.
field_of() {
	dk show --json "$1" 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)["fields"].get(sys.argv[1])
print("" if v is None else v if isinstance(v, str) else json.dumps(v))' "$2"
}

# --- customer development: a lead to a signed contract ---------------------

lead=$(dk --as alice new sales-lead -s company="Globex" -s source=referral \
	-m "met at the fair")
is "new prints the lead id alone" "$lead" "LEAD-1"
is "a new lead starts in research" "$(stage_of "$lead")" "research"
step alice "$lead" capture screening
step alice "$lead" classify visits -s rating=hot -s segment=key_account \
	-s contact_name="Hank Scorpio" -s contact_phone="+1 555 0100"
run --as alice note "$lead" "visited the plant; they want 500 units"
is "note exits 0" "$rc" 0
has "note says where it went" "$out" "$lead: note recorded"
step alice "$lead" visited visits -s visits=1 -s last_visit=2025-03-04
# 500 units at 20 less the 8% tier: the price plugin quotes 9200 with an
# 18.5% margin, above the policy's 18%, so the quote stands.
step_auto alice "$lead" propose proposal price negotiation \
	-s needs="500 units, quarterly" -s quantity=500 -s unit_price=20
is "price: the quote total" "$(field_of "$lead" quote_total)" "9200.0"
is "price: the tier's discount" "$(field_of "$lead" discount_pct)" "8.0"
ok "price: the margin the policy allows" test -n "$(field_of "$lead" margin_pct)"
is "price: the quote is valid for 30 days" "$(field_of "$lead" quote_valid_until)" "2025-04-02"
# No contract text yet: the clause check sends it back to sales, saying why.
step_auto alice "$lead" agree legal_check legal-check negotiation \
	-s contract_value=9200 -s payment_terms=net30
has "legal-check: says which clause is missing" "$(field_of "$lead" contract_gaps)" "liability_cap"
step_auto alice "$lead" agree legal_check legal-check legal_review \
	-s contract_text="Supply agreement. 1. Liability cap. 2. Warranty. 3. Delivery terms. 4. Confidentiality. 5. Governing law."
is "legal-check: a complete contract clears the gaps" "$(field_of "$lead" contract_gaps)" ""
step lena "$lead" approve signing -s contract_no=C-2025-001
# Signed: archive files the contract, notify tells the departments, won.
step_auto alice "$lead" signed archiving "archive (then notify)" won -s signed_on=2025-03-20
has "archive: the case says where the contract was filed" "$(field_of "$lead" archive_ref)" "archive/contracts/$lead"
ok "archive: the file is there" test -s "$home/$(field_of "$lead" archive_ref)"
is "notify: the notice is recorded on the case" "$(field_of "$lead" last_notice)" \
	"New contract C-2025-001 with Globex signed; plan delivery, billing and service."
run history "$lead"
has "history: the plugins act as system" "$out" "system  archived: archiving -> notifying"
# The notice reaches the notified roles through `docket inbox`.
run --as fred inbox
is "inbox exits 0" "$rc" 0
has "finance finds the notice in its inbox" "$out" "New contract C-2025-001 with Globex signed"
has "inbox says which case" "$out" "$lead"
has "inbox says whom it was for" "$out" "ops, finance, customer_service"
run --as alice inbox
is "sales was not notified" "$out" "no notifications"
run --as fred inbox --all --json
has "inbox --json: the notifications" "$out" '"notifications": ['
has "inbox --json: the message" "$out" '"message": "New contract C-2025-001'
has "inbox --json: how many" "$out" '"count": 1'
run --as fred inbox extra
is "inbox takes no argument" "$rc" 2
run --as alice show "$lead"
has "show: the lead is won and closed" "$out" "(closed)"
has "show: the stage title" "$out" "Won — contract signed and archived"
has "show: sales sees the confidential contact" "$out" "Hank Scorpio"
run --as fred show "$lead"
is "finance may look at the lead" "$rc" 0
case $out in *"Hank Scorpio"*) seen=yes ;; *) seen=no ;; esac
is "finance does not see the confidential contact" "$seen" "no"
run --as alice show "$lead"
case $out in *margin_pct*) seen=yes ;; *) seen=no ;; esac
is "sales staff do not see the internal margin" "$seen" "no"
run --as sam show "$lead"
has "the sales manager sees the margin" "$out" "margin_pct"

# A large deal needs the director before legal.
big=$(dk --as alice new sales-lead -s company="Initech" -s source=trade_show)
step alice "$big" capture screening
step alice "$big" classify visits -s rating=warm -s contact_name="Bill"
step alice "$big" visited visits -s visits=2 -s last_visit=2025-03-05
# 4000 at 50 less 12%: the margin falls under 18%, a manager approves it.
step_auto alice "$big" propose proposal price quote_approval \
	-s needs="a plant" -s quantity=4000 -s unit_price=50
is "price: the large quote" "$(field_of "$big" quote_total)" "176000.0"
run --as alice advance "$big" approve
is "sales may not approve a quote below margin" "$rc" 1
step sam "$big" approve negotiation
step alice "$big" agree director_approval -s contract_value=200000 -s payment_terms=net60

# And one that is lost, for the conversion figure.
lost=$(dk --as alice new sales-lead -s company="Hooli")
step alice "$lost" drop lost -s lost_reason=competitor

run stats sales-lead
is "stats exits 0" "$rc" 0
is "stats starts with the lead conversion" "$(printf '%s\n' "$out" | head -1)" \
	"Lead conversion (lead -> won): 50%  (1 won, 1 lost)"
has "stats counts the stage the big deal waits in" "$out" "director_approval"
has "stats shows terminal counts" "$out" "Reached: won 1, lost 1"

# --- sales order: short of stock, produced, shipped, invoiced, paid --------

order=$(dk --as alice new sales-order -s customer="ACME" -s product=W-100 \
	-s quantity=40 -s contact_phone="+1 555 0199")
is "new prints the order id alone" "$order" "SO-1"
# The stock plugin finds 10 of the 40 and answers short.
step_auto alice "$order" confirm stock_check stock short_supply -s spec="40 blue, boxed" \
	-s unit_price=12.50 -s delivery_date=2025-04-01 -m "confirmed by phone"
is "stock: what the warehouse has" "$(field_of "$order" in_stock)" "10"
is "stock: nothing reserved for a short order" "$(field_of "$order" reserved)" "0"
run --as alice advance "$order" in_stock
is "sales may not answer for the warehouse" "$rc" 1
run --as olga assign "$order" olga
is "assign exits 0" "$rc" 0
is "assign says to whom" "$out" "$order: assigned to olga"
run --as olga list --mine
has "list --mine shows the order assigned to me" "$out" "$order"
step olga "$order" plan new_date -s supply=produce -s revised_delivery_date=2025-04-20
run --as olga advance "$order" customer_told
is "operations may not tell the customer" "$rc" 1
step_auto alice "$order" customer_told production_order production in_production
is "production: the order's number" "$(field_of "$order" production_order)" "PO-assembly-1"
is "production: due after the line's 10 days" "$(field_of "$order" production_due)" "2025-03-13"
ok "production: the order is on file" test -s "$home/production/assembly/PO-assembly-1.json"
# The warehouse lists what it packed; the shipping plugin checks it.
echo '{"lines": [{"product": "W-100", "quantity": 40}]}' > "$home/packing/$order.json"
step_auto pete "$order" produced shipping shipping tracking_sent
is "shipping: the packing list matched" "$(field_of "$order" packing_list_ok)" "true"
is "shipping: a tracking number" "$(field_of "$order" tracking)" "DKT-20250303-000001"
is "shipping: shipped today" "$(field_of "$order" shipped_on)" "2025-03-03"
step_auto alice "$order" customer_told invoicing invoice collection
is "invoice: numbered in its series and year" "$(field_of "$order" invoice_no)" "INV-2025-00001"
is "invoice: due after net 30" "$(field_of "$order" invoice_due)" "2025-04-02"
is "invoice: the total" "$(field_of "$order" order_total)" "500.0"
run --as fred advance "$order" paid
is "paid needs the day it was paid" "$rc" 1
step fred "$order" paid closed -s paid_on=2025-03-28 -m "bank transfer"
run history "$order"
is "history exits 0" "$rc" 0
is "history has every step: created, 10 events, an assignment" \
	"$(printf '%s\n' "$out" | tail -n +2 | wc -l)" 12
has "history shows the event and the stages" "$out" "short: stock_check -> short_supply"
has "history shows the plugin acting as system" "$out" "system  ordered: production_order -> in_production"
has "history shows who did it" "$out" "pete"
has "history shows the fields set" "$out" "tracking=DKT-20250303-000001"
has "history shows the note" "$out" '"bank transfer"'
run --as pete show "$order"
case $out in *"555 0199"*) seen=yes ;; *) seen=no ;; esac
is "production does not see the customer's phone" "$seen" "no"

# --- customer service: a major complaint goes to the director -------------

printf 'All 40 units arrived scratched.\nThe customer wants replacements.\n' > "$tmp/details.txt"
cs=$(dk --as carl new customer-service -s kind=complaint -s customer="ACME" \
	-s subject="Scratched units" -s details=@"$tmp/details.txt" -s order_ref="$order")
is "new prints the complaint id alone" "$cs" "CS-1"
step carl "$cs" route complaint
step carl "$cs" acknowledge director_review -s severity=major
run --as dana list -w customer-service --stage director_review
has "the director finds the complaint in her stage" "$out" "$cs"
step dana "$cs" resolve customer_confirmation -s resolution="Replace all 40 units" \
	-s compensation=500
step carl "$cs" confirmed closed -s customer_accepted=true
run --as carl show "$cs"
has "show keeps a multi-line field's lines" "$out" "The customer wants replacements."
case $out in *compensation*) seen=yes ;; *) seen=no ;; esac
is "customer service does not see the compensation" "$seen" "no"
run --as dana show "$cs"
has "the director sees the compensation" "$out" "compensation"

# --- lists, stuck, stats, the other verbs ---------------------------------

run list
is "list exits 0" "$rc" 0
has "list shows open cases" "$out" "$big"
case $out in *"$order"*) seen=yes ;; *) seen=no ;; esac
is "list leaves closed cases out by default" "$seen" "no"
run list --all
has "list --all shows closed cases too" "$out" "$order"
run list -w sales-lead --all --limit 2
is "a full page offers the next" "$(printf '%s\n' "$out" | tail -1 | cut -d' ' -f1-3)" "more: add --cursor"
cursor=$(printf '%s\n' "$out" | tail -1 | cut -d' ' -f4)
run list -w sales-lead --all --limit 2 --cursor "$cursor"
has "the next page goes on" "$out" "LEAD-3"
run stuck
is "nothing is stuck on day one" "$out" "nothing is stuck"

# Three days later the big deal is late for the director (SLA 2d).
advance_clock $((3 * 86400))
run stuck
is "stuck exits 0" "$rc" 0
has "stuck shows the late case with its owner and why" "$out" "director_approval"
has "stuck says why" "$out" "late: past its 2d SLA"
first=$(printf '%s\n' "$out" | sed -n 2p | cut -d' ' -f1)
is "the late case comes first" "$first" "$big"
run list
has "list marks late cases" "$out" "LATE"
run show "$big"
has "show says how late" "$out" "LATE by 1d"

run workflows
has "workflows lists the shipped ones with versions" "$out" "sales-order       v1"
run plugins
is "plugins exits 0" "$rc" 0
run status
has "status names the home" "$out" "running on $home"
has "status tells the plugin runs" "$out" "on 2 hosts; since start"
run check
is "check exits 0 on a clean store" "$rc" 0
has "check says so" "$out" "consistent"
run backup "$tmp/backup"
is "backup exits 0" "$rc" 0
ok "backup wrote a store" test -s "$tmp/backup/store.mdb"
run backup "$tmp/backup"
is "backup refuses to overwrite a store" "$rc" 1
is "that refusal is one line" "$(lines "$err")" 1
run retry "$order"
is "retry of a case without a failed plugin is refused" "$rc" 1
is "that refusal is one line" "$(lines "$err")" 1

# Bash completion asks the daemon for the ids of open cases.
ids=$(PATH="$(dirname "$docket"):$PATH" bash -c '
	_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]};
			     words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
	_filedir() { :; }
	. "$1/cli/completion/docket.bash"
	COMP_WORDS=(docket --home "$2" show LEAD-); COMP_CWORD=4
	_docket
	echo "${COMPREPLY[*]}"' sh "$src" "$home")
is "completion offers the open cases' ids" "$ids" "$big"

# --- --json: one document, stable keys ------------------------------------

mkdir "$tmp/json"
dk --json show "$order" > "$tmp/json/show"
dk list --json --all > "$tmp/json/list"
dk history --json "$order" > "$tmp/json/history"
dk stuck --json > "$tmp/json/stuck"
dk stats --json > "$tmp/json/stats"
dk workflows --json > "$tmp/json/workflows"
dk status --json > "$tmp/json/status"
dk check --json > "$tmp/json/check"
dk plugins --json > "$tmp/json/plugins"
dk --as alice note --json "$big" "json note" > "$tmp/json/note"
dk --as alice new --json sales-order -s customer=X -s product=P -s quantity=1 > "$tmp/json/new"
dk --as sam advance --json "$lost" drop -s lost_reason=other > /dev/null 2>&1
dk --as alice assign --json "$big" alice > "$tmp/json/assign"
dk --as alice advance --json SO-2 cancel -s cancel_reason=duplicate > "$tmp/json/advance"
checks=$(python3 - "$tmp/json" <<'PY'
import json, os, sys
d = sys.argv[1]
want = {
    "show": ["id", "workflow", "version", "stage", "fields", "created_at", "updated_at",
             "stage_title", "owner", "state", "assignee", "late", "due", "stage_since", "in_stage_s"],
    "new": ["id", "workflow", "version", "stage", "fields", "created_at", "updated_at"],
    "advance": ["id", "workflow", "version", "stage", "fields", "seq"],
    "assign": ["id", "assignee"],
    "list": ["cases", "next"],
    "history": ["history"],
    "stuck": ["count", "stuck"],
    "stats": ["workflows"],
    "workflows": ["workflows"],
    "status": ["server", "version", "pid", "user", "roles", "admin"],
    "check": ["ok", "problems"],
    "plugins": ["plugins"],
    "note": ["seq"],
}
for name, keys in sorted(want.items()):
    try:
        doc = json.load(open(os.path.join(d, name)))
        missing = [k for k in keys if k not in doc]
        print(name, "ok" if not missing else "missing " + ",".join(missing))
    except Exception as e:
        print(name, "not one JSON document:", e)
h = json.load(open(os.path.join(d, "history")))["history"][-1]
print("entry", "ok" if all(k in h for k in ["seq", "at", "actor", "event", "from", "to"]) else h)
s = json.load(open(os.path.join(d, "stuck")))["stuck"][0]
print("stuckrow", "ok" if all(k in s for k in ["case", "workflow", "stage", "owner", "assignee",
                                               "reason", "detail", "since", "late_by_s"]) else s)
w = [w for w in json.load(open(os.path.join(d, "stats")))["workflows"] if w["name"] == "sales-lead"][0]
print("statsrow", "ok" if all(k in w["stages"][0] for k in ["stage", "count", "median_s", "p90_s", "late"])
      and w["terminal"] == {"won": 1, "lost": 1} else w)
PY
)
for name in advance assign check history list new note plugins show stats status stuck workflows; do
	has "--json $name has its keys" "$checks" "$name ok"
done
has "--json history entries have their keys" "$checks" "entry ok"
has "--json stuck rows have their keys" "$checks" "stuckrow ok"
has "--json stats rows have their keys and terminal counts" "$checks" "statsrow ok"

stop_daemon
is "docketd stops cleanly" "$?" 0
done_testing
