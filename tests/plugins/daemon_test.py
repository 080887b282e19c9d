#!/usr/bin/env python3
"""Bad plugins through a real docketd, and a kill -9 of it mid-run.

usage: daemon_test.py DOCKETD FIXTURES_DIR

For each fixture the daemon keeps serving, the case follows its retry
policy to `failed` (shown by `stuck` with the reason), nothing is lost and
the log says what happened.  Then docketd is killed with SIGKILL while
plugins run: after a restart every pending action runs again with the
same idempotency key, and no stage entry is committed twice.  Speaks TAP.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

docketd, fixtures = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="docket-daemon-test-")
home, wfdir, keys = f"{tmp}/home", f"{tmp}/workflows", f"{tmp}/keys.log"
n = failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {name}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}")


def call(op, **args):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(f"{home}/docketd.sock")
    b = json.dumps({"id": 1, "op": op, "args": args}).encode()
    s.sendall(struct.pack(">I", len(b)) + b)
    buf = b""
    while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf[4:])


BAD = {
    # fixture: (stage timeout, what `stuck` and the log must say)
    "segv": ("5s", "crash"),  # crashed, or quarantined with crashy below
    "abort": ("5s", "crashed"),
    "exiter": ("5s", "exit with status 3"),
    "loop": ("1s", "timed out after 1 s"),
    "block": ("1s", "timed out after 1 s"),
    "hog": ("20s", "crashed"),
    "undeclared": ("5s", "emitted event 'teleported'"),
    "silent": ("5s", "returned without an outcome"),
    "badmajor": ("5s", "built for plugin ABI 2"),
    "badsize": ("5s", "info block of 16 bytes"),
    "initfail": ("5s", "failed to start: no licence key"),
}

stages = "\n".join(
    f"""  {name}:
    owner: ops
    action: {{plugin: {name}, timeout: {t}, retry: {{max: 1, backoff: 1s}}}}
    on:
      done: {{to: end}}"""
    for name, (t, _) in BAD.items())
go = "\n".join(f"      to_{name}: {{to: {name}}}" for name in BAD)
bad_yaml = f"""workflow: bad-plugins
version: 1
prefix: BAD
roles: [ops]
fields:
  quantity: {{type: integer}}
  note: {{type: string}}
start: pick
stages:
  pick:
    owner: ops
    on:
{go}
      to_chatty: {{to: chatty}}
      to_crashy: {{to: crashy}}
  chatty:
    owner: ops
    action: {{plugin: chatty, timeout: 5s}}
    on:
      done: {{to: end}}
  crashy:
    owner: ops
    action: {{plugin: segv, timeout: 5s, retry: {{max: 5, backoff: 1s}}}}
    on:
      done: {{to: end}}
{stages}
  end: {{terminal: true}}
"""

slow_yaml = f"""workflow: slow
version: 1
prefix: SLOW
roles: [ops]
fields:
  n: {{type: integer}}
start: work
stages:
  work:
    owner: ops
    action:
      plugin: recorder
      with: {{log: {keys}, sleep_ms: 1500, event: done}}
      timeout: 30s
    on:
      done: {{to: end}}
  end: {{terminal: true}}
"""

os.makedirs(wfdir)
# Three plugin hosts (the default is two): the kill -9 part checks that
# three runs go to three host processes at once.
os.makedirs(home, mode=0o750)
with open(f"{home}/docket.yaml", "w") as f:
    f.write("plugin_hosts: 3\n")
with open(f"{wfdir}/bad.yaml", "w") as f:
    f.write(bad_yaml)
with open(f"{wfdir}/slow.yaml", "w") as f:
    f.write(slow_yaml)

log_path = f"{tmp}/docketd.log"
logf = open(log_path, "ab")


def start():
    p = subprocess.Popen([docketd, "--home", home, "--workflows", wfdir, "--plugins", fixtures],
                         stdout=logf, stderr=logf)
    for _ in range(200):
        if os.path.exists(f"{home}/docketd.sock"):
            try:
                if call("hello").get("ok"):
                    return p
            except OSError:
                pass
        time.sleep(0.05)
    raise SystemExit("docketd did not start; log:\n" + open(log_path).read())


def wait_for(pred, secs):
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def case(cid):
    return call("show", case=cid)["result"]


def history(cid):
    return call("history", case=cid)["result"]["history"]


def stuck_reason(cid):
    r = call("stuck")["result"]
    for c in r.get("cases", r.get("stuck", [])):
        if c.get("id", c.get("case")) == cid and c.get("reason") == "action-failed":
            return c.get("detail") or "?"
    return None


try:
    d = start()

    # --- every bad fixture, through the daemon --------------------------
    ids = {}
    for name in list(BAD) + ["chatty", "crashy"]:
        r = call("new", workflow="bad-plugins", fields={"quantity": 5})
        cid = r["result"]["id"]
        r = call("advance", case=cid, event=f"to_{name}")
        ok(r.get("ok"), f"case {cid} enters stage {name}", r)
        ids[name] = cid

    for name, (_, says) in BAD.items():
        cid = ids[name]
        why = wait_for(lambda: stuck_reason(cid), 40)
        ok(why and says in why, f"{name}: the case ends failed, stuck shows why ({says})", why)
        ok(case(cid)["stage"] == name, f"{name}: the case stays in its stage")

    text = open(log_path).read()
    ok("plugin segv on BAD-" in text, "the log names the crashing plugin and case")
    ok("timed out after 1 s; plugin host" in text, "the log says which host was killed for a timeout")
    ok("built for plugin ABI 2" in text, "the log says why a plugin would not load")

    cid = ids["chatty"]
    ok(wait_for(lambda: case(cid)["stage"] == "end", 20), "a plugin printing to stdout still moves its case")
    ok("hello from chatty on " + cid in open(log_path).read(), "what it printed is in the log")

    cid = ids["crashy"]
    why = wait_for(lambda: stuck_reason(cid), 60)
    ok(why and "quarantined" in why, "a plugin crashing 3 times in a row is quarantined", why)
    ok("plugin segv quarantined" in open(log_path).read(), "the log says it was quarantined")
    plist = {p["name"]: p for p in call("plugins")["result"]["plugins"]}
    ok(plist.get("recorder", {}).get("version") == "0" and plist["recorder"].get("abi") == "1.0",
       "`plugins` lists each plugin with its version and ABI", plist.get("recorder"))
    ok("built for plugin ABI 2" in plist.get("badmajor", {}).get("error", ""),
       "`plugins` says why a plugin is refused", plist.get("badmajor"))
    ok(plist.get("segv", {}).get("quarantined") is True and plist["recorder"]["quarantined"] is False,
       "`plugins` shows the quarantined one", plist.get("segv"))

    r = call("new", workflow="bad-plugins", fields={"quantity": 1})
    ok(r.get("ok") and d.poll() is None, "the daemon keeps serving after all of them")
    r = call("check")
    ok(r.get("ok") and r["result"].get("ok", True), "the store checks clean", r)

    # --- kill -9 while plugins run ------------------------------------------
    def runs():
        return [ln.split() for ln in open(keys).read().splitlines()] if os.path.exists(keys) else []

    slow = [call("new", workflow="slow", fields={"n": i})["result"]["id"] for i in range(4)]
    ok(wait_for(lambda: len(runs()) >= 3, 10), "plugins are running")
    first = runs()[:3]
    ok(len({r[2] for r in first}) == 3,
       "plugin_hosts: 3 runs three actions at once, each on a host of its own", first)
    before = [r[0] for r in runs()]
    d.send_signal(signal.SIGKILL)
    d.wait()
    d = start()
    done = wait_for(lambda: all(case(c)["stage"] == "end" for c in slow), 60)
    ok(done, "after a restart every pending action ran")
    after_keys = [r[0] for r in runs()]
    ok(all(after_keys.count(k) >= 2 for k in before),
       "an action interrupted by kill -9 ran again with the same key", runs())
    for c in slow:
        events = [h for h in history(c) if h.get("actor") == "system" and h.get("kind") == "event"]
        ok(len(events) == 1, f"{c}: its stage entry was committed exactly once", events)
    r = call("check")
    ok(r.get("ok") and r["result"].get("ok", True), "the store checks clean after the restart", r)

    d.send_signal(signal.SIGTERM)
    ok(d.wait(timeout=20) == 0, "docketd stops cleanly with plugin hosts running")
finally:
    try:
        d.kill()
    except Exception:
        pass
    print(f"1..{n}")
    if failed:
        print("# docketd log:")
        for line in open(log_path).read().splitlines()[-60:]:
            print(f"#   {line}")
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)
