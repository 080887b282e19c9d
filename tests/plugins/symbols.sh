#!/bin/sh
# Every shipped plugin exports exactly the two entry points of
# docket/plugin.h and nothing else (hidden visibility).  TAP.
n=0
failed=0
for so in "$@"; do
	n=$((n + 1))
	got=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
	if [ "$got" = "docket_plugin_describe docket_plugin_init " ]; then
		echo "ok $n - $(basename "$so") exports only its entry points"
	else
		echo "not ok $n - $(basename "$so") exports: $got"
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
