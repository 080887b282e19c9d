#!/usr/bin/env python3
"""The shipped workflows end to end with their plugins (part of `make demo`).

usage: demo_plugins.py BUILD

Starts docketd on a fresh home under BUILD/demo/, stocks its warehouse,
and takes an order from receipt to cash, an order that is short through
production, and a lead from market research to a signed, archived
contract.  Staff steps are shown as the `docket` command a person would
type; each automatic stage names its plugin and what it did.  Talks to
the daemon over its socket (docs/protocol.md).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from datetime import date, timedelta

build = sys.argv[1] if len(sys.argv) > 1 else "build"
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
home = os.path.abspath(f"{build}/demo/home")


def day(n):
    return (date.today() + timedelta(days=n)).isoformat()


shutil.rmtree(home, ignore_errors=True)
os.makedirs(f"{home}/inventory")
os.makedirs(f"{home}/packing")


def call(op, **args):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
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
    reply = json.loads(buf[4:])
    if not reply.get("ok"):
        raise SystemExit(f"demo: {op} {args}: {reply.get('error')}")
    return reply["result"]


def show_cmd(text):
    print(f"$ {text}")


def new(workflow, **fields):
    sets = " ".join(f"-s {k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in fields.items())
    c = call("new", workflow=workflow, fields=fields)
    show_cmd(f"docket new {workflow} {sets}")
    print(f"{c['id']}  ({c['stage']})")
    return c["id"]


def advance(case, event, **fields):
    sets = "".join(f" -s {k}={v!r}" if " " in str(v) else f" -s {k}={v}" for k, v in fields.items())
    c = call("advance", case=case, event=event, fields=fields)
    show_cmd(f"docket advance {case} {event}{sets}")
    print(f"{case}: -> {c['stage']}")
    return c


def settle(case, stage, plugin, nth=1):
    """Wait for the nth outcome of the plugin of `stage`; say what it did."""
    for _ in range(300):
        hist = call("history", case=case)["history"]
        mine = [h for h in hist if h.get("actor") == "system" and h.get("from") == stage]
        if len(mine) >= nth:
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"demo: {case} stayed in {stage}; see {build}/demo/docketd.log")
    h = mine[nth - 1]
    changed = ", ".join(f"{k}={v}" for k, v in (h.get("fields") or {}).items())
    print(f"   [{plugin}] {stage} -> {h.get('event')} -> {h.get('to')}" + (f"  ({changed})" if changed else ""))
    return h


logf = open(f"{build}/demo/docketd.log", "wb")
d = subprocess.Popen([f"{build}/engine/docketd", "--home", home, "--workflows", f"{src}/workflows",
                      "--plugins", f"{build}/plugins"], stdout=logf, stderr=logf)
try:
    for _ in range(200):
        try:
            call("hello")
            break
        except OSError:
            time.sleep(0.05)

    print("Plugins the daemon found (docket plugins):")
    for p in call("plugins")["plugins"]:
        print(f"  {p['name']:<12} {p.get('version', '?'):<6} {p.get('summary', p.get('error', ''))}")

    print("\nThe warehouse (HOME/inventory/main.json, edited by operations):")
    inv = {"items": {"W-100": {"on_hand": 120, "reserved": 0}, "W-200": {"on_hand": 30, "reserved": 0}}}
    with open(f"{home}/inventory/main.json", "w") as f:
        json.dump(inv, f, indent=2)
    print("  W-100: 120 on hand, W-200: 30 on hand")

    print("\n-- An order in stock, from receipt to cash")
    so = new("sales-order", customer="Initech", product="W-100", quantity=40)
    advance(so, "confirm", spec="W-100 blue, boxed", unit_price=12.5,
            delivery_date=day(30), payment_terms="net30")
    settle(so, "stock_check", "stock")
    settle(so, "shipping", "shipping")
    with open(f"{home}/packing/{so}.json", "w") as f:
        json.dump({"lines": [{"product": "W-100", "quantity": 40}]}, f)
    print(f"   (the warehouse packs it and lists it in HOME/packing/{so}.json: 40 x W-100)")
    advance(so, "repacked")
    settle(so, "shipping", "shipping", nth=2)
    advance(so, "customer_told")
    settle(so, "invoicing", "invoice")
    advance(so, "paid", paid_on=day(28))

    print("\n-- An order the warehouse cannot cover: made by production")
    so2 = new("sales-order", customer="Globex", product="W-200", quantity=500)
    advance(so2, "confirm", spec="W-200 steel", unit_price=4.0,
            delivery_date=day(20), payment_terms="net60")
    settle(so2, "stock_check", "stock")
    advance(so2, "plan", supply="produce", revised_delivery_date=day(40))
    advance(so2, "customer_told")
    settle(so2, "production_order", "production")

    print("\n-- A lead, from market research to a signed, archived contract")
    lead = new("sales-lead", company="Umbrella", source="trade_show")
    advance(lead, "capture")
    advance(lead, "classify", rating="hot", contact_name="A. Wesker")
    advance(lead, "visited", visits=1, last_visit=day(0))
    advance(lead, "propose", needs="300 units a year", quantity=300, unit_price=10)
    settle(lead, "proposal", "price")
    contract = ("Supply agreement. 1. Liability cap. 2. Warranty. 3. Delivery terms. "
                "4. Confidentiality. 5. Governing law: Dutch law.")
    advance(lead, "agree", contract_value=2850, payment_terms="net30", contract_text=contract)
    settle(lead, "legal_check", "legal-check")
    advance(lead, "approve", contract_no="C-1001")
    advance(lead, "signed", signed_on=day(0))
    settle(lead, "archiving", "archive")
    settle(lead, "notifying", "notify")

    c = call("show", case=lead)
    print(f"\n{lead} is {c['stage']}; archived as HOME/{c['fields'].get('archive_ref')}")
    notes = sorted(os.listdir(f"{home}/notifications"))
    print(f"Notifications recorded under HOME/notifications/: {', '.join(notes)}")
    with open(f"{home}/notifications/{notes[-1]}") as f:
        n = json.load(f)
    print(f"  for {', '.join(n['roles'])}: {n['message']}")
    print(f"\nThe daemon's log, with each plugin outcome: {build}/demo/docketd.log")
finally:
    d.send_signal(signal.SIGTERM)
    d.wait(timeout=20)
