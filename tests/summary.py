#!/usr/bin/env python3
"""Count every test case meson ran in the given build directories.

Tests speak TAP, so each `ok` / `not ok` line is one test case.  A test that
printed no TAP at all (or died before its plan was complete) counts as one
case, failed unless meson saw it pass.  Prints the one closing line
`N passed, N failed` that CI reads.
"""
import json
import os
import re
import sys

passed = failed = skipped = 0
for build in sys.argv[1:]:
    log = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"summary: {log} missing: that build ran no test", file=sys.stderr)
        failed += 1
        continue
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            ok = len(re.findall(r"^ok\b(?!.*# SKIP)", out, re.M))
            skip = len(re.findall(r"^ok\b.*# SKIP", out, re.M))
            bad = len(re.findall(r"^not ok\b", out, re.M))
            good = t["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
            if ok + bad + skip == 0:
                if t["result"] == "SKIP":
                    skipped += 1
                elif good:
                    passed += 1
                else:
                    failed += 1
                continue
            if not good and bad == 0:
                bad = 1  # crashed or timed out after its last ok
                print(f"summary: {build}: {t['name']}: {t['result']}", file=sys.stderr)
            passed += ok
            failed += bad
            skipped += skip
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
