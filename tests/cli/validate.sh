#!/bin/sh
# `docket validate` and `docket graph` as a process owner uses them: the
# shipped workflows pass, planted mistakes come back as file:line:col on
# stderr with exit 1, and graphs render.
docket=$1
src=$2
. "$src/tests/cli/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$docket" validate "$src"/workflows/*.yaml 2>&1); rc=$?
is "shipped workflows validate" "$rc" 0
has "each shipped file is confirmed" "$out" "ok: $src/workflows/sales-order.yaml"

# A copy of the sales order with three mistakes in different places.
sed -e 's/^\(    \)owner: ops$/\1owmer: ops/' \
    "$src/workflows/sales-order.yaml" > "$tmp/typo.yaml"
line=$(grep -n 'owmer:' "$tmp/typo.yaml" | head -1 | cut -d: -f1)
err=$("$docket" validate "$tmp/typo.yaml" 2>&1 >/dev/null); rc=$?
is "a typo fails validation" "$rc" 1
has "the typo is reported at its line and column with a hint" "$err" \
	"$tmp/typo.yaml:$line:5: error: unknown key 'owmer'"
has "the hint names the right key" "$err" "did you mean 'owner'?"

cat > "$tmp/many.yaml" <<'YAML'
workflow: bad
version: 1
prefix: BD
roles: [sales]
fields:
  qty: {type: integer, min: 1}
start: a
stages:
  a:
    owner: sales
    sla: 2x
    on:
      go: {to: b, when: "qty > 'x'"}
      stop: {to: nowhere}
  b: {terminal: true}
YAML
err=$("$docket" validate "$tmp/many.yaml" "$tmp/typo.yaml" 2>&1 >/dev/null); rc=$?
is "several files with mistakes exit 1" "$rc" 1
has "bad duration at its position" "$err" "$tmp/many.yaml:11:10: error:"
has "guard type error inside the expression" "$err" "$tmp/many.yaml:13:"
has "undeclared stage at its position" "$err" "$tmp/many.yaml:14:"
has "the second file is checked too" "$err" "$tmp/typo.yaml:$line:5"

json=$("$docket" validate --json "$tmp/many.yaml" 2>/dev/null); rc=$?
is "--json still exits 1 on errors" "$rc" 1
has "--json reports the diagnostics" "$json" '"severity": "error"'

sed 's/^workflow: sales-order$/workflow: sales-order-copy/' "$src/workflows/sales-order.yaml" > "$tmp/copy.yaml"
err=$("$docket" validate "$src/workflows/sales-order.yaml" "$tmp/copy.yaml" 2>&1 >/dev/null); rc=$?
is "two workflows with one prefix fail" "$rc" 1
has "the shared prefix is named" "$err" "prefix 'SO' is also used by workflow 'sales-order'"

plugins=$(cd "$(dirname "$docket")/../plugins" && pwd)
sed 's/plugin: stock$/plugin: stok/' "$src/workflows/sales-order.yaml" > "$tmp/stok.yaml"
line=$(grep -n 'plugin: stok' "$tmp/stok.yaml" | cut -d: -f1)
err=$(DOCKET_PLUGINS="$plugins" "$docket" validate "$tmp/stok.yaml" 2>&1 >/dev/null); rc=$?
is "a plugin that is not installed fails validation" "$rc" 1
has "the missing plugin is reported at its position" "$err" "$tmp/stok.yaml:$line:15: error: plugin 'stok' is not installed"
err=$("$docket" validate --plugins "$tmp" "$src/workflows/sales-order.yaml" 2>&1 >/dev/null); rc=$?
is "--plugins names the directory to check against" "$rc" 1

printf 'workflow: [unclosed\n' > "$tmp/broken.yaml"
err=$("$docket" validate "$tmp/broken.yaml" 2>&1 >/dev/null); rc=$?
is "malformed YAML exits 1" "$rc" 1
has "malformed YAML is one positioned line" "$err" "$tmp/broken.yaml:"

: > "$tmp/empty.yaml"
err=$("$docket" validate "$tmp/empty.yaml" 2>&1 >/dev/null); rc=$?
is "an empty file exits 1" "$rc" 1

err=$("$docket" validate "$tmp/missing.yaml" 2>&1 >/dev/null); rc=$?
is "a missing file exits 1" "$rc" 1
has "a missing file says so" "$err" "missing.yaml"

"$docket" validate >/dev/null 2>&1; rc=$?
is "no file is a usage error" "$rc" 2
"$docket" validate --help >/dev/null 2>&1; rc=$?
is "validate --help exits 0" "$rc" 0

for wf in "$src"/workflows/*.yaml; do
	name=$(basename "$wf" .yaml)
	ok "graph $name renders with dot" sh -c "'$docket' graph '$wf' | dot -Tsvg -o '$tmp/$name.svg'"
	m=$("$docket" graph --format mermaid "$wf" 2>&1)
	has "graph $name as mermaid" "$m" "flowchart LR"
done
ok "graph by workflow name" sh -c "DOCKET_WORKFLOWS='$src/workflows' '$docket' graph sales-order | grep -q digraph"
"$docket" graph "$tmp/many.yaml" >/dev/null 2>&1; rc=$?
is "graph refuses an invalid workflow" "$rc" 1
"$docket" graph --format png "$src/workflows/sales-order.yaml" >/dev/null 2>&1; rc=$?
is "graph refuses an unknown format" "$rc" 2

done_testing
