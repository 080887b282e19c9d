#!/bin/sh
# Every refusal through the real binaries: exit 1, exactly one line on
# stderr that says which rule refused and why, nothing on stdout, and the
# case exactly as it was (its whole --json document and its history).
docket=$1
docketd=$2
src=$3
. "$src/tests/cli/tap.sh"
. "$src/tests/cli/home.sh"

start_daemon || { echo "Bail out! docketd did not start"; exit 1; }

order=$(dk --as alice new sales-order -s customer=ACME -s product=W-100 -s quantity=40)
lead=$(dk --as alice new sales-lead -s company=Globex)
dk --as alice advance "$lead" capture >/dev/null
dk --as alice advance "$lead" classify -s rating=hot -s contact_name=Hank >/dev/null
closed=$(dk --as alice new sales-order -s customer=Old -s product=P -s quantity=1)
dk --as alice advance "$closed" cancel -s cancel_reason=duplicate >/dev/null

# refused NAME WANT-IN-MESSAGE CASE ARGS...: the refusal, and CASE unchanged.
refused() {
	local what=$1 want=$2 case=$3
	shift 3
	before=$(dk show --json "$case"; dk history --json "$case")
	run "$@"
	is "$what: exit 1" "$rc" 1
	is "$what: one line on stderr" "$(lines "$err")" 1
	has "$what: says why" "$err" "$want"
	is "$what: nothing on stdout" "$out" ""
	after=$(dk show --json "$case"; dk history --json "$case")
	ok "$what: the case is unchanged" test "$before" = "$after"
}

refused "undeclared event" \
	"docket advance: stage 'received' has no event 'ship' (it has: confirm, cancel)" \
	"$order" --as alice advance "$order" ship
refused "wrong role" "needs role sales" \
	"$order" --as fred advance "$order" confirm -s spec=x -s unit_price=1 -s delivery_date=2025-05-01
refused "missing required field" "unit_price" \
	"$order" --as alice advance "$order" confirm -s spec=x -s delivery_date=2025-05-01
refused "guard false" "visits" \
	"$lead" --as alice advance "$lead" propose -s needs=x -s quantity=1 -s unit_price=1
refused "bad value type" "quantity" \
	"$order" --as alice advance "$order" confirm -s quantity=lots
refused "value out of range" "quantity" \
	"$order" --as alice advance "$order" cancel -s quantity=0 -s cancel_reason=other
refused "not a calendar date" "delivery_date" \
	"$order" --as alice advance "$order" cancel -s delivery_date=2025-02-30 -s cancel_reason=other
refused "enum value not allowed" "payment_terms" \
	"$order" --as alice advance "$order" cancel -s payment_terms=net90 -s cancel_reason=other
refused "unknown field" "colour" \
	"$order" --as alice advance "$order" cancel -s colour=red -s cancel_reason=other
refused "a closed case" "$closed" \
	"$closed" --as alice advance "$closed" confirm
refused "a user not in docket.yaml" "mallory" \
	"$order" --as mallory advance "$order" cancel -s cancel_reason=other
refused "a note with an unknown user" "mallory" \
	"$order" --as mallory note "$order" hello
refused "assign to a case as a stranger" "mallory" \
	"$order" --as mallory assign "$order" alice

run --as alice show SO-999
is "an unknown case exits 1" "$rc" 1
is "an unknown case is one line" "$err" "docket show: no case 'SO-999'"
run --as alice new purchase-order
is "an unknown workflow exits 1" "$rc" 1
is "an unknown workflow is one line" "$(lines "$err")" 1
has "an unknown workflow is named" "$err" "purchase-order"
run --as alice new sales-order -s customer=ACME
is "a new case without its required fields exits 1" "$rc" 1
has "the missing field is named" "$err" "product"
is "nothing was created" "$(dk list --all --json | grep -c '"id": "SO-3"')" 0
run list -w sales-order --stage nowhere
is "an unknown stage exits 1" "$rc" 1
has "the unknown stage is named" "$err" "nowhere"
run --as alice backup "$tmp/b"
is "backup as a non-administrator exits 1" "$rc" 1
has "backup is for the administrator" "$err" "administrator"
run --as alice reload
is "reload as a non-administrator exits 1" "$rc" 1

# Over the limit: a field of more than 64 KiB, read from a file.
head -c 70000 /dev/zero | tr '\0' x > "$tmp/big"
run --as alice advance "$order" cancel -s spec=@"$tmp/big" -s cancel_reason=other
is "a value over 64 KiB exits 1" "$rc" 1
has "a value over 64 KiB is refused before sending" "$err" "too long"

stop_daemon
done_testing
