#!/usr/bin/env python3
"""Checks monitoring/: the Grafana dashboard (valid JSON, equal to generate_dashboard.py's output,
unique panel ids, every query parses as PromQL through promtool) and the metric names that the
dashboard and the alert rules use, compared with the names the services register in their C
sources. A name used here but registered nowhere is reported; with --strict-metrics it fails.

    python3 monitoring/check_monitoring.py PROMTOOL [--strict-metrics]
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "grafana"))
import generate_dashboard  # noqa: E402

NAME_RE = re.compile(r"\bib_(?:gateway|worker)_[a-z0-9_]+")


def base_name(n):
    return re.sub(r"_(bucket|count|sum)$", "", n)


def registered_names():
    """Metric family names in the services' sources: string literals that look like metrics."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "api-gateway/src/*.c")) + \
            glob.glob(os.path.join(ROOT, "results-worker/src/*.c")):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in re.finditer(r'"((?:ib_gateway|ib_worker|gw|rw)_[a-z0-9_]+|[a-z_]+_total)\b', text):
            names.add(m.group(1))
    return names


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    promtool = sys.argv[1]
    strict = "--strict-metrics" in sys.argv[2:]
    problems = []

    path = os.path.join(HERE, "grafana", "interview-bridge.json")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    dash = json.loads(text)
    if text != generate_dashboard.render():
        problems.append("grafana/interview-bridge.json differs from generate_dashboard.py's output "
                        "(run python3 monitoring/grafana/generate_dashboard.py)")
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        problems.append("grafana: duplicate panel ids")
    exprs = []
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        g = p["gridPos"]
        if g["x"] + g["w"] > 24:
            problems.append(f"grafana panel {p['title']}: wider than the grid")
        if not p.get("targets"):
            problems.append(f"grafana panel {p['title']}: no query")
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))

    # PromQL syntax of the dashboard's queries: as recording rules through promtool, with
    # Grafana's variables replaced by values.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}",
         "expr": e.replace("$__rate_interval", "5m").replace("$namespace", ".*")}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
        yaml.safe_dump(rules, tmp)
    try:
        r = subprocess.run([promtool, "check", "rules", tmp.name], capture_output=True, text=True)
    finally:
        os.unlink(tmp.name)
    if r.returncode != 0:
        problems.append("grafana queries do not parse:\n" + r.stdout + r.stderr)

    with open(os.path.join(HERE, "prometheus", "alerts.yaml"), encoding="utf-8") as f:
        alerts = yaml.safe_load(f)
    alert_exprs = [(rule["alert"], rule["expr"]) for g in alerts["groups"] for rule in g["rules"]]
    used = {base_name(n) for _, e in exprs + alert_exprs for n in NAME_RE.findall(e)}
    have = registered_names()
    missing = sorted(n for n in used if n not in have)
    print(f"grafana: {len(dash['panels'])} panels, {len(exprs)} queries parse (promtool); alerts: "
          f"{len(alert_exprs)} rules; {len(used)} metric names used, "
          f"{len(used) - len(missing)} registered by the services")
    if missing:
        renamed = {n: n.replace("ib_gateway_", "gw_").replace("ib_worker_", "rw_") for n in missing}
        absent = [n for n in missing if renamed[n] not in have]
        print(f"  {'FAIL' if strict else 'note'}: {len(missing)} names used but not registered by "
              f"api-gateway/src or results-worker/src:")
        for n in missing:
            if n not in absent:
                print(f"    {n}: registered as {renamed[n]}")
        if absent:
            print(f"    registered under no name: {', '.join(absent)}")
        if strict:
            problems.append("metric names")
    for p in problems:
        print("  FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
