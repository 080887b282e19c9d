#!/bin/sh
# Run every libFuzzer target in BUILD for SECONDS each, growing a scratch
# copy of its seed corpus.  Prints the executions count of each run.
set -eu
build=$1
secs=$2
here=$(cd "$(dirname "$0")" && pwd)
# UBSan only reports and carries on unless told to stop; a report must be
# a failure with a saved input, like any crash.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
rc=0
for bin in "$build"/tests/fuzz/fuzz_*; do
	# meson puts each target's objects in a fuzz_<name>.p directory
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	work=$(mktemp -d)
	cp -r "$here/corpus/$name/." "$work/" 2>/dev/null || true
	echo "fuzz: $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$here/" "$work" 2>"$build/fuzz-$name.log"; then
		echo "fuzz: $name FAILED (see $build/fuzz-$name.log)"
		rc=1
	fi
	grep -E 'stat::number_of_executed_units' "$build/fuzz-$name.log" | sed "s/^/fuzz: $name: /" || true
	rm -rf "$work"
done
exit $rc
