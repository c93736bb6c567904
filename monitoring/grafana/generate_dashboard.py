#!/usr/bin/env python3
"""Generates interview-bridge.json (Grafana dashboard, schemaVersion 39) — edit here, then run
    python3 monitoring/grafana/generate_dashboard.py
scripts/check-deploy fails when the committed JSON differs from this output."""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
panels = []
pid = [0]
y = [0]
x = [0]


def row(title):
    pid[0] += 1
    panels.append({"id": pid[0], "type": "row", "title": title, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1


def panel(title, exprs, unit="short", kind="timeseries", w=8, desc=""):
    pid[0] += 1
    if x[0] + w > 24:
        x[0] = 0
        y[0] += 8
    if kind == "timeseries":
        options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "none"}}
    else:
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                   "orientation": "auto", "textMode": "auto"}
    panels.append({"id": pid[0], "type": kind, "title": title, "description": desc, "datasource": DS,
                   "gridPos": {"h": 8, "w": w, "x": x[0], "y": y[0]},
                   "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                   "options": options,
                   "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": l}
                               for i, (e, l) in enumerate(exprs)]})
    x[0] += w


def endrow():
    x[0] = 0
    y[0] += 8


def sel(extra=""):
    return "{" + 'namespace=~"$namespace"' + ("," + extra if extra else "") + "}"


R = "[$__rate_interval]"
S = sel()
S5 = sel('status=~"5.."')

row("api-gateway")
panel("Requests by status", [(f"sum by (status) (rate(ib_gateway_http_requests_total{S}{R}))", "{{status}}")], "reqps")
panel("5xx ratio", [(f"sum(rate(ib_gateway_http_requests_total{S5}{R})) / sum(rate(ib_gateway_http_requests_total{S}{R}))", "5xx")],
      "percentunit", desc="Alert InterviewBridgeGateway5xx above 5 %")
panel("Latency by route (p50, p99)", [
    (f"histogram_quantile(0.5, sum by (le, route) (rate(ib_gateway_http_request_duration_seconds_bucket{S}{R})))", "p50 {{route}}"),
    (f"histogram_quantile(0.99, sum by (le, route) (rate(ib_gateway_http_request_duration_seconds_bucket{S}{R})))", "p99 {{route}}")], "s")
panel("Kafka produce latency (p99) and errors", [
    (f"histogram_quantile(0.99, sum by (le, outcome) (rate(ib_gateway_kafka_produce_duration_seconds_bucket{S}{R})))", "p99 {{outcome}}"),
    (f"sum by (outcome) (rate(ib_gateway_kafka_produce_errors_total{S}{R}))", "errors/s {{outcome}}")], "s",
      desc="Errors: creations answered 503 because Kafka did not acknowledge")
panel("In-flight requests", [(f"sum by (pod) (ib_gateway_http_requests_in_flight{S})", "{{pod}}")])
panel("Views: lag and tenants", [
    (f"max by (view) (ib_gateway_view_lag_messages{S})", "lag {{view}}"),
    (f"max(ib_gateway_view_catalog_tenants{S})", "tenants with a catalog")])
endrow()
row("results-worker")
panel("Deliveries by outcome", [(f"sum by (outcome) (rate(ib_worker_deliveries_total{S}{R}))", "{{outcome}}")], "ops")
panel("Event to 2xx latency (p50, p99)", [
    (f"histogram_quantile(0.5, sum by (le) (rate(ib_worker_event_to_delivered_seconds_bucket{S}{R})))", "p50"),
    (f"histogram_quantile(0.99, sum by (le) (rate(ib_worker_event_to_delivered_seconds_bucket{S}{R})))", "p99")], "s")
panel("Attempts per delivery (p50, p90)", [
    (f"histogram_quantile(0.5, sum by (le) (rate(ib_worker_delivery_attempts_bucket{S}{R})))", "p50"),
    (f"histogram_quantile(0.9, sum by (le) (rate(ib_worker_delivery_attempts_bucket{S}{R})))", "p90")])
panel("Retry backlog", [(f"sum(ib_worker_retry_backlog{S})", "pending deliveries")])
panel("Oldest pending retry: age and overdue", [
    (f"max(ib_worker_retry_oldest_age_seconds{S})", "age since first attempt"),
    (f"max(ib_worker_retry_overdue_seconds{S})", "most overdue")], "s",
      desc="Dead-lettered at RETRY_MAX_AGE (72 h); alerts at 12 h and 48 h. Overdue > 0 for long: the worker cannot keep up")
panel("Dead letters (per 15 min)", [(f"sum(increase(ib_worker_dead_letters_total{S}[15m]))", "dead letters")],
      desc="Inspect and replay: scripts/dlq (README Operate)")
panel("Consumer lag by topic", [(f"sum by (topic) (ib_worker_consumer_lag{S})", "{{topic}}")],
      desc="Scale workers up to the partition count of interviews.status")
panel("Callback hosts with an open circuit breaker", [(f"count by (host) (ib_worker_breaker_state{S} == 1)", "{{host}}")],
      desc="ib_worker_breaker_state: 0 closed, 1 open, 2 half-open")
panel("Kafka produce errors (retry, DLQ)", [(f"sum(rate(ib_worker_kafka_produce_errors_total{S}{R}))", "errors/s")])
endrow()
row("readiness")
panel("Gateways ready", [(f"sum(ib_gateway_views_caught_up{S})", "ready")], kind="stat", w=6)
panel("Workers ready", [(f"sum(ib_worker_ready{S})", "ready")], kind="stat", w=6)
panel("Dead letters (24 h)", [(f"sum(increase(ib_worker_dead_letters_total{S}[24h]))", "24 h")], kind="stat", w=6)
panel("Oldest pending retry", [(f"max(ib_worker_retry_oldest_age_seconds{S})", "age")], unit="s", kind="stat", w=6)

DASHBOARD = {
    "uid": "interview-bridge",
    "title": "interview-bridge",
    "description": "api-gateway and results-worker (metrics: README Operate). Alerts: monitoring/prometheus/alerts.yaml.",
    "tags": ["interview-bridge", "kafka", "workable"],
    "timezone": "utc",
    "editable": True,
    "graphTooltip": 1,
    "schemaVersion": 39,
    "version": 1,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus",
         "current": {}, "hide": 0, "refresh": 1, "options": []},
        {"name": "namespace", "type": "query", "datasource": DS, "label": "namespace",
         "query": {"query": "label_values(ib_worker_ready, namespace)", "refId": "ns"},
         "definition": "label_values(ib_worker_ready, namespace)",
         "current": {"text": "interview-bridge", "value": "interview-bridge"},
         "includeAll": True, "allValue": ".*", "multi": False, "refresh": 2, "hide": 0,
         "options": [], "sort": 1},
    ]},
    "annotations": {"list": []},
    "panels": panels,
}


def render():
    return json.dumps(DASHBOARD, indent=2) + "\n"


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "interview-bridge.json")
    with open(out, "w", encoding="utf-8") as f:
        f.write(render())
    print(f"wrote {out}: {len(panels)} panels", file=sys.stderr)
