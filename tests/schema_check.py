#!/usr/bin/env python3
"""Check the shipped workflows against docs/workflow.schema.json.

The schema is what editors use to help process owners, so it must accept
every workflow Docket ships.  Needs python3-yaml and python3-jsonschema;
without them the test is skipped (exit 77), since Docket itself never
depends on them.

PyYAML reads YAML 1.1, where `on`, `yes` and `no` are booleans; Docket
reads YAML 1.2, where they are strings.  The loader below drops the 1.1
boolean words so the schema sees what Docket sees.
"""
import json
import os
import re
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"1..0 # SKIP {e}")
    sys.exit(77)


class Yaml12Loader(yaml.SafeLoader):
    pass


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
# Dates stay strings, as Docket reads them (a date field parses YYYY-MM-DD).
Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in Yaml12Loader.yaml_implicit_resolvers.items()
}


# Small mistakes the schema must refuse, so editors flag them as they are
# typed: (what, YAML of the whole file).
BASE = """
workflow: w
version: 1
prefix: W
roles: [staff]
start: a
stages:
  a: {owner: staff, sla: 1d, on: {go: {to: b}}}
  b: {terminal: true}
"""
BAD = [
    ("unknown top-level key", BASE + "owner: staff\n"),
    ("unknown stage key", BASE.replace("sla: 1d,", "sla: 1d, owmer: staff,")),
    ("unknown transition key", BASE.replace("{to: b}", "{to: b, wen: x}")),
    ("combined duration", BASE.replace("sla: 1d", "sla: 1d12h")),
    ("fractional duration", BASE.replace("sla: 1d", "sla: 1.5d")),
    ("lowercase prefix", BASE.replace("prefix: W", "prefix: w")),
    ("uppercase stage name", BASE.replace("  b: {terminal", "  B: {terminal")),
    ("workflow name with '_'", BASE.replace("workflow: w", "workflow: w_x")),
    ("enum without values", BASE + "fields: {k: {type: enum}}\n"),
    ("unknown field type", BASE + "fields: {k: {type: text}}\n"),
    ("values on a string", BASE + "fields: {k: {type: string, values: [a]}}\n"),
    ("min on a boolean", BASE + "fields: {k: {type: boolean, min: 0}}\n"),
    ("integer default not an integer", BASE + "fields: {k: {type: integer, default: x}}\n"),
    ("terminal stage with events", BASE.replace("{terminal: true}", "{terminal: true, on: {x: {to: a}}}")),
    ("timer without event", BASE.replace("sla: 1d,", "sla: 1d, timers: [{after: 2d}],")),
    ("empty transition list", BASE.replace("{to: b}", "[]")),
    ("version 0", BASE.replace("version: 1", "version: 0")),
    ("missing start", BASE.replace("start: a", "")),
    ("retry with an unknown key", BASE.replace("sla: 1d,", "sla: 1d, action: {plugin: p, retry: {times: 2}},")),
    ("retry max above 20", BASE.replace("sla: 1d,", "sla: 1d, action: {plugin: p, retry: {max: 21}},")),
    ("a title over 4096 bytes", BASE + "title: " + "x" * 4097 + "\n"),
]

# What `docket validate` accepts, the schema must accept too, or editors
# would underline a correct file.
GOOD = [
    ("roles: [] on a transition", BASE.replace("{to: b}", "{to: b, roles: []}")),
    ("visible_to: []", BASE + "fields: {k: {type: string, visible_to: []}}\n"),
    ("require: []", BASE.replace("{to: b}", "{to: b, require: []}")),
    ("a role name with '-'", BASE.replace("[staff]", "[staff, field-sales]").replace("owner: staff", "owner: field-sales")),
    ("enum values that are not names", BASE + "fields: {k: {type: enum, values: [Made to order, x-y]}}\n"),
    ("an integer default for a number field", BASE + "fields: {k: {type: number, default: 5}}\n"),
    ("retry max 20", BASE.replace("sla: 1d,", "sla: 1d, action: {plugin: p, retry: {max: 20}},")),
    ("no roles key", BASE.replace("roles: [staff]\n", "").replace("owner: staff, ", "")),
]


def load(text):
    return yaml.load(text, Loader=Yaml12Loader)


def main():
    root = os.environ.get("DOCKET_SOURCE_ROOT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    with open(os.path.join(root, "docs", "workflow.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    wfdir = os.path.join(root, "workflows")
    files = sorted(n for n in os.listdir(wfdir) if n.endswith(".yaml"))
    print(f"1..{len(files) + 1 + len(BAD) + len(GOOD)}")
    n = 0
    bad = 0

    def report(ok, what, notes=()):
        nonlocal n, bad
        n += 1
        print(f"{'ok' if ok else 'not ok'} {n} - {what}")
        for line in notes:
            print(f"#   {line}")
        bad += not ok

    for name in files:
        with open(os.path.join(wfdir, name)) as f:
            doc = load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        report(not errors, f"{name} satisfies the schema",
               ["/".join(str(p) for p in e.path) + ": " + e.message for e in errors])
    report(validator.is_valid(load(BASE)), "the minimal workflow satisfies the schema")
    for what, text in BAD:
        report(not validator.is_valid(load(text)), f"refuses: {what}")
    for what, text in GOOD:
        report(validator.is_valid(load(text)), f"accepts: {what}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
