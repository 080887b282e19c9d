#!/bin/sh
# `docket plugin-run` as plugin authors use it, and the tutorial of
# docs/plugins.md followed to the letter: its files are taken from the
# page, built the way it says, validated and run.
docket=$1
src=$2
fixtures=$3
. "$src/tests/cli/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# Every fenced block after `<!-- file: NAME -->` in the page, as NAME.
awk -v dir="$tmp" '
	/^<!-- file: .* -->$/ { name = $3; next }
	name != "" && /^```/ { if (inblock) { inblock = 0; name = "" } else inblock = 1; next }
	inblock { print > (dir "/" name) }
' "$src/docs/plugins.md"
ok "the tutorial has its three files" test -s "$tmp/credit-check.c" -a -s "$tmp/order.json" -a -s "$tmp/credit.yaml"

ok "the tutorial plugin builds as the page says" \
	cc -shared -fPIC -fvisibility=hidden -I"$src/plugins/include" -Wall -Werror \
	"$tmp/credit-check.c" -o "$tmp/credit-check.so"
syms=$(nm -D --defined-only "$tmp/credit-check.so" | awk '{print $3}' | sort | tr '\n' ' ')
is "it exports only its entry points" "$syms" "docket_plugin_describe docket_plugin_init "

out=$("$docket" plugin-run credit-check --plugins "$tmp" --case "$tmp/order.json" \
	--with limit=5000 --events approved,hold 2>&1); rc=$?
is "over the limit: exit 0 (an event)" "$rc" 0
has "over the limit: held" "$out" "event: hold"
has "over the limit: says why" "$out" 'credit_note = "7200.00 is over the limit of 5000.00"'

out=$("$docket" plugin-run credit-check --plugins "$tmp" --case "$tmp/order.json" \
	--with limit=10000 --with 'blocked=["Globex"]' --events approved,hold 2>&1)
has "under the limit: approved" "$out" "event: approved"
has "its log line is shown" "$out" "plugin credit-check: info: Initech approved for 7200.00"

out=$("$docket" validate --plugins "$tmp" "$tmp/credit.yaml" 2>&1); rc=$?
is "the tutorial workflow validates with its plugin installed" "$rc" 0
out=$("$docket" plugin-run credit-check --plugins "$tmp" --case "$tmp/order.json" \
	--workflow "$tmp/credit.yaml" --stage check -s customer=Globex --json 2>&1); rc=$?
has "run as the stage configures it" "$out" '"event": "hold"'
has "with the blocked list from the workflow" "$out" '"credit_note": "customer is blocked"'

out=$("$docket" plugin-run credit-check --plugins "$tmp" --case "$tmp/order.json" \
	--events approved,hold 2>&1); rc=$?
is "a failed outcome exits 1" "$rc" 1
has "and prints the reason" "$out" "failed: credit-check: with.limit must be a number"

# The shipped price plugin on the shipped workflow's proposal stage.
printf '{"id": "LEAD-7", "entry": 4, "fields": {"quantity": 150, "unit_price": 10}}\n' > "$tmp/lead.json"
out=$("$docket" plugin-run price --case "$tmp/lead.json" \
	--workflow "$src/workflows/sales-lead.yaml" --stage proposal 2>&1)
has "price quotes a shipped proposal" "$out" "event: quoted"
has "with the tier's discount" "$out" "quote_total = 1425"

# Misbehaving plugins are reported, not suffered.
out=$("$docket" plugin-run segv --plugins "$fixtures" --case "$tmp/order.json" 2>&1); rc=$?
is "a crashing plugin exits 1" "$rc" 1
# A signal, or under the sanitizers their report and exit status.
has "and says the plugin took its host down" "$out" "plugin 'segv': the plugin"
out=$("$docket" plugin-run block --plugins "$fixtures" --case "$tmp/order.json" --timeout 1s 2>&1); rc=$?
is "a hanging plugin is killed at --timeout" "$rc" 1
has "and says so" "$out" "no answer within 1000 ms"
out=$("$docket" plugin-run undeclared --plugins "$fixtures" --case "$tmp/order.json" --events go 2>&1)
has "an undeclared event fails as in the daemon" "$out" "failed: plugin 'undeclared' emitted event 'teleported'"
out=$("$docket" plugin-run badmajor --plugins "$fixtures" --case "$tmp/order.json" 2>&1)
has "a wrong ABI is named" "$out" "built for plugin ABI 2"
out=$("$docket" plugin-run nosuch --plugins "$fixtures" --case "$tmp/order.json" 2>&1)
has "a missing plugin is named" "$out" "plugin 'nosuch' is not installed"

"$docket" plugin-run >/dev/null 2>&1; rc=$?
is "no plugin is a usage error" "$rc" 2
"$docket" plugin-run price --case "$tmp/missing.json" >/dev/null 2>&1; rc=$?
is "a missing case file exits 1" "$rc" 1
"$docket" plugin-run --help >/dev/null 2>&1; rc=$?
is "plugin-run --help exits 0" "$rc" 0

done_testing
