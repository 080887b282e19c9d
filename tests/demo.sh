#!/bin/sh
# make demo: a short tour of what Docket does today, on the shipped
# workflows.  Writes its pictures under BUILD/demo/.
set -eu
build=${1:-build}
docket="$build/cli/docket"
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

step "Run the shipped workflows end to end: docketd, its plugin hosts and every automatic stage"
python3 tests/demo_plugins.py "$build"

step "Done"
echo "Open $out/*.svg to see the flows."
