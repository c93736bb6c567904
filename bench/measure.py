#!/usr/bin/env python3
"""bench/measure.py: the measuring step of bench/run. Runs the benchmarks side by side and writes
one JSON file per run (lib/results.py): the commit, the machine, the counts of the mode, every
figure with all its samples and its method. bench/report.py renders BENCHMARKS.md from it.

Run it through bench/run (which installs the tools, builds the services, the sink and the peers,
and starts the broker); Python 3 standard library only.

Pinning (taskset), the same for every system under test (SUT):
  CPU 0: the Kafka broker (all its threads), the load generator (wrk -t1, vegeta with
         GOMAXPROCS=1, ibload), the callback sink
  CPU 1: the SUT: api-gateway | Benthos | nginx, results-worker | Benthos, and wrk when it is the
         client measured against the sink (the sink's ceiling)
CPU cost: utime+stime of the process (all its threads) from /proc/<pid>/stat over the measured
window, divided by the requests (deliveries) completed in it; for wrk, from its rusage.
"""

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from lib import config
from lib.config import CPU_BROKER, CPU_LOAD, CPU_SUT, Config, Ports
from lib.facts import machine_facts
from lib.loadgen import vegeta, vegeta_targets, wrk
from lib.procs import RssSampler, cpu_seconds, http, rss_kib, run, wait_until
from lib.profiles import PerfRecord
from lib.results import Log, Results, key
from lib.systems import (Bench, await_sink, first_post_ok, gateway_view, sink_reset, sink_stats,
                         start_gateway, start_sink, start_tls_sink, start_worker)

CONNS = (16, 64, 256)
LOW_RATE = 100  # POST/s of the low-load latency (p50 target) and of the ack round trip
GATEWAY_KINDS = ("ours", "benthos", "nginx")


# ---------------------------------------------------------------- gateway


def bench_gateway(b, R):
    """All three HTTP SUTs run at once (idle ones cost ~nothing) and their runs are interleaved
    (ours, Benthos, nginx, ours, ...), so the machine's drifting noise hits them alike."""
    cfg = b.cfg
    b.say("gateway: saturation (wrk), CPU and RSS per SUT, POST /interviews and GET /interview-templates")
    post_lua, get_lua = b.lua("post.lua"), b.lua("get.lua")
    procs = {}
    try:
        for kind in GATEWAY_KINDS:
            procs[kind] = start_gateway(b, kind)
            if kind != "nginx":
                wait_until(lambda: first_post_ok(b, procs[kind][1]), 60, f"{kind}: first 201", procs[kind][0])
            if kind == "ours" and cfg.broker_warmup_secs:
                # A fresh broker's JVM has not compiled its produce path yet: without this the
                # first runs (16 connections) measured its warm-up (broker CPU per POST falling
                # from ~230 to ~50 µs over the three runs), not the SUTs.
                wrk(f"{procs[kind][1]}/interviews", 64, cfg.broker_warmup_secs, post_lua, b.wrk_env())
            wrk(f"{procs[kind][1]}/interviews", 16, cfg.warmup_secs, post_lua, b.wrk_env())
        for ep, lua, path in (("post", post_lua, "/interviews"), ("get", get_lua, "/interview-templates")):
            eks = [k for k in GATEWAY_KINDS if not (ep == "get" and k == "benthos")]
            for c in CONNS:
                acc = {k: {"rps": [], "cpu": [], "brk": [], "rss": [], "p99": [], "bad": 0} for k in eks}
                for _ in range(cfg.runs):
                    for kind in eks:
                        proc, base = procs[kind]
                        a = acc[kind]
                        c0, b0 = cpu_seconds(proc.pid), cpu_seconds(b.kafka_pid)
                        samp = RssSampler(proc.pid)
                        w = wrk(base + path, c, cfg.sat_secs, lua, b.wrk_env())
                        maxrss = samp.stop()
                        c1, b1 = cpu_seconds(proc.pid), cpu_seconds(b.kafka_pid)
                        good = max(1, w["requests"] - w["non2xx"])
                        a["rps"].append(w["rps"] * good / max(1, w["requests"]))
                        a["cpu"].append((c1 - c0) / good * 1e6)
                        a["brk"].append((b1 - b0) / good * 1e6)
                        a["rss"].append(maxrss / 1024)
                        a["p99"].append(w["p99"])
                        a["bad"] += w["non2xx"] + w["errors"]
                        if kind == "ours":
                            R.values[key("ours", ep, "view", c)] = list(gateway_view(b))
                wrk_m = f"wrk -t1 -c{c} -d{cfg.sat_secs}s {'POST' if ep == 'post' else 'GET'} {path}"
                for kind in eks:
                    a = acc[kind]
                    f = R.figure(key(kind, ep, "rps", c), a["rps"], "req/s",
                                 method=f"{wrk_m}: requests/s × share of 2xx")
                    cpu = R.figure(key(kind, ep, "cpu_us", c), a["cpu"], "µs", "{:.1f}",
                                   f"{wrk_m}: utime+stime of the SUT (/proc/pid/stat) over the run ÷ 2xx answers")
                    R.figure(key(kind, ep, "broker_cpu_us", c), a["brk"], "µs", "{:.1f}",
                             f"{wrk_m}: utime+stime of the broker over the run ÷ 2xx answers")
                    rss = R.figure(key(kind, ep, "rss", c), a["rss"], "MiB", "{:.1f}",
                                   f"{wrk_m}: max VmRSS of the SUT, sampled every 100 ms")
                    R.figure(key(kind, ep, "wrk_p99", c), a["p99"], "ms", "{:.1f}", f"{wrk_m}: wrk's p99")
                    R.values[key(kind, ep, "bad", c)] = a["bad"]
                    b.say(f"  {kind} {ep} c={c}: {f} 2xx/s, CPU {cpu} µs/req, RSS {rss} MiB, errors/non-2xx {a['bad']}")
                    if kind == "ours":
                        n, nb = R.values[key("ours", ep, "view", c)]
                        b.say(f"  ours: interviews view after these runs: {fmt_n(n)} interviews, {fmt_mib(nb)} MiB")
        # constant-rate latency: half of the lower saturation (both below saturation: the p99
        # comparison) and half of ours (the target), from the 64-connection saturation
        sat_ours = R.figures[key("ours", "post", "rps", 64)].med or 0
        sat_benthos = R.figures[key("benthos", "post", "rps", 64)].med or 0
        rates = sorted({capped(cfg, 0.5 * min(sat_ours, sat_benthos)), capped(cfg, 0.5 * sat_ours)})
        if len(rates) == 2 and rates[1] < rates[0] * 1.15:
            rates = [rates[0]]
        R.values["post_rates"] = rates
        # Workable's own load: an interview now and then; p50 there is what each POST waits for
        low = capped(cfg, LOW_RATE)
        R.values["post_low_rate"] = low
        get_rate = capped(cfg, 0.5 * (R.figures[key("ours", "get", "rps", 64)].med or 0))
        R.values["get_rate"] = get_rate
        b.say(f"gateway: constant-rate latency (vegeta) at {[low] + [r for r in rates if r != low]} POST/s "
              f"and {get_rate} GET/s")
        plan = [("post", low, "POST", "/interviews", GATEWAY_KINDS)] + \
            [("post", r, "POST", "/interviews", GATEWAY_KINDS) for r in rates if r != low]
        plan.append(("get", get_rate, "GET", "/interview-templates", ("ours", "nginx")))
        for ep, rate, method, path, eks in plan:
            vals = {k: {"p50": [], "p99": [], "p999": [], "ok": []} for k in eks}
            for run_i in range(cfg.runs):
                for kind in eks:
                    tg = b.path("targets.json")
                    n = min(int(rate * cfg.lat_secs), 200000)
                    vegeta_targets(tg, method, procs[kind][1] + path, n,
                                   b.post_body(f"v{kind}{rate}r{run_i}t{time.time_ns()}") if method == "POST" else None)
                    v = vegeta(b.bins["vegeta"], tg, rate, cfg.lat_secs, b.path("vegeta.bin"))
                    time.sleep(cfg.settle_secs)  # let an overloaded SUT drain before the next one runs
                    for k in ("p50", "p99", "p999"):
                        vals[kind][k].append(v[k])
                    vals[kind]["ok"].append(100.0 * v["ok"] / max(1, v["n"]))
            vm = (f"vegeta attack -rate={rate}/s -duration={cfg.lat_secs}s {method} {path} (open model, "
                  "-max-connections=256, -timeout=10s, GOMAXPROCS=1)")
            for kind in eks:
                for k in ("p50", "p99", "p999"):
                    R.figure(key(kind, ep, k, rate), vals[kind][k], "ms", "{:.2f}",
                             f"{vm}: {k} of the latencies from each request's scheduled start")
                R.figure(key(kind, ep, "ok", rate), vals[kind]["ok"], "%", "{:.1f}", f"{vm}: share of 2xx")
                f = lambda q: R.figures[key(kind, ep, q, rate)]
                b.say(f"  {kind} {ep} @{rate}/s: p50 {f('p50')} p99 {f('p99')} p99.9 {f('p999')} ms, 2xx {f('ok')} %")
    finally:
        for proc, _ in procs.values():
            b.procs.stop(proc)


def capped(cfg, rate):
    rate = max(1, int(rate))
    return min(rate, cfg.rate_cap) if cfg.rate_cap else rate


def fmt_n(n):
    return "?" if n is None else f"{n:.0f}"


def fmt_mib(nbytes):
    return "?" if nbytes is None else f"{nbytes / 1048576:.1f}"


def bench_gateway_rss_fresh(b, R):
    """RSS at 256 connections of a gateway whose interviews view starts empty: each run starts our
    gateway on a fresh interviews.requested topic, so its view holds only that run's interviews
    (as Benthos holds only its own run's state). Separates the cost of 256 connections from the
    view, which in the saturation runs above holds every interview posted so far."""
    cfg = b.cfg
    b.say("gateway: RSS at 256 connections with a fresh interviews view (one new requested topic per run)")
    rss, views = [], []
    for i in range(cfg.runs):
        t = b.ibload.topics(f"rss256-{i}-{os.getpid()}")
        proc, base = start_gateway(b, "ours", {"TOPIC_REQUESTED": t["requested"]})
        try:
            wait_until(lambda: first_post_ok(b, base), 60, "ours: first 201 (fresh view)", proc)
            samp = RssSampler(proc.pid)
            w = wrk(f"{base}/interviews", 256, cfg.sat_secs, b.lua("post.lua"), b.wrk_env())
            rss.append(samp.stop() / 1024)
            views.append(gateway_view(b))
        finally:
            b.procs.stop(proc)
        b.say(f"  run {i}: max RSS {rss[-1]:.1f} MiB at {w['rps']:.0f} req/s, view {fmt_n(views[-1][0])} interviews "
              f"({fmt_mib(views[-1][1])} MiB allocated)")
    m = f"wrk -t1 -c256 -d{cfg.sat_secs}s POST /interviews on a gateway started on a fresh requested topic"
    R.figure(key("ours", "post", "rss_fresh", 256), rss, "MiB", "{:.1f}", f"{m}: max VmRSS, every 100 ms")
    R.figure(key("ours", "post", "rss_fresh_view", 256), [v[0] for v in views], "interviews",
             method=f"{m}: ib_gateway_view_interviews of /metrics after the run")


# ---------------------------------------------------------------- worker


def bench_worker_tls(b, R):
    """The same drain into the https sink (nginx terminating TLS in front of the sink): real
    callbacks are https. Ours verifies the sink's certificate as in production."""
    cfg = b.cfg
    n = cfg.backlog
    b.say(f"worker: draining a backlog of {n} status events into the https sink")
    front = start_tls_sink(b)
    acc = {k: ([], []) for k in ("ours", "benthos")}
    try:
        for i in range(cfg.runs):
            for kind in ("ours", "benthos"):
                rate, cpu_us = acc[kind]
                tag = f"{kind}-tls-{i}-{os.getpid()}"
                t = b.ibload_tls.topics(tag)
                prefix = f"{0xc0000000 + i:08x}"
                b.ibload_tls.load("requested", t["requested"], n, prefix)
                b.ibload_tls.load("status", t["status"], n, prefix)
                sink_reset(b)
                proc = start_worker(b, kind, t, tag, tls=True)
                try:
                    (t0, c0, n0, t1, c1, n1), s = await_sink(b, n, cfg.drain_timeout, proc)
                    rate.append((s["count"] - 1) / max(1e-9, (s["last_ns"] - s["first_ns"]) / 1e9))
                    cpu_us.append((c1 - c0) / max(1, n1 - n0) * 1e6)
                finally:
                    b.procs.stop(proc)
                b.say(f"  {kind} https run {i}: {rate[-1]:.0f} deliveries/s, {cpu_us[-1]:.1f} µs CPU/delivery")
    finally:
        b.procs.stop(front)
    m = (f"a backlog of {n:,} status events for known interviews, drained over https (TLS, HTTP/1.1) into "
         "nginx terminating TLS in front of the sink (CPU 0); ours verifying the certificate (the run's "
         "CA added by CALLBACK_CA_FILE)")
    for kind, (rate, cpu_us) in acc.items():
        R.figure(key(kind, "tls_drain_rate"), rate, "/s", method=f"{m}: sink's count ÷ (last − first delivery)")
        R.figure(key(kind, "tls_drain_cpu_us"), cpu_us, "µs", "{:.1f}",
                 f"{m}: utime+stime of the SUT from the first to the last delivery seen ÷ deliveries in it")


def bench_worker(b, R):
    cfg = b.cfg
    n = cfg.backlog
    b.say(f"worker: draining a backlog of {n} status events into the sink")
    acc = {k: ([], [], []) for k in ("ours", "benthos")}
    for i in range(cfg.runs):
        for kind in ("ours", "benthos"):
            rate, cpu_us, rss = acc[kind]
            tag = f"{kind}-drain-{i}-{os.getpid()}"
            t = b.ibload.topics(tag)
            prefix = f"{0xd0000000 + i:08x}"
            b.ibload.load("requested", t["requested"], n, prefix)
            b.ibload.load("status", t["status"], n, prefix)
            sink_reset(b)
            proc = start_worker(b, kind, t, tag)
            try:
                (t0, c0, n0, t1, c1, n1), s = await_sink(b, n, cfg.drain_timeout, proc)
                # the sink's own clock for the rate: first to last delivery
                rate.append((s["count"] - 1) / max(1e-9, (s["last_ns"] - s["first_ns"]) / 1e9))
                cpu_us.append((c1 - c0) / max(1, n1 - n0) * 1e6)
                rss.append(rss_kib(proc.pid) / 1024)
            finally:
                b.procs.stop(proc)
            b.say(f"  {kind} run {i}: {rate[-1]:.0f} deliveries/s, {cpu_us[-1]:.1f} µs CPU/delivery")
    m = f"a backlog of {n:,} status events for known interviews, drained into the sink"
    for kind, (rate, cpu_us, rss) in acc.items():
        R.figure(key(kind, "drain_rate"), rate, "/s", method=f"{m}: sink's count ÷ (last − first delivery)")
        R.figure(key(kind, "drain_cpu_us"), cpu_us, "µs", "{:.1f}",
                 f"{m}: utime+stime of the SUT from the first to the last delivery seen ÷ deliveries in it")
        R.figure(key(kind, "drain_rss"), rss, "MiB", "{:.1f}", f"{m}: VmRSS of the SUT after draining")
    bench_worker_tls(b, R)

    b.say(f"worker: event-to-2xx latency at {cfg.event_rate} events/s for {cfg.lat_secs_worker} s "
          f"(after {cfg.lat_warmup_worker} s of warm-up)")
    for kind in ("ours", "benthos"):
        p50, p99, p999, cpu_us = [], [], [], []
        for i in range(cfg.runs):
            tag = f"{kind}-lat-{i}-{os.getpid()}"
            t = b.ibload.topics(tag)
            m = int(cfg.event_rate * cfg.lat_secs_worker)
            wu = int(cfg.event_rate * cfg.lat_warmup_worker)  # delivered, no latency sample
            prefix = f"{0xe0000000 + i:08x}"
            b.ibload.load("requested", t["requested"], wu + m + 1, prefix)
            sink_reset(b)
            proc = start_worker(b, kind, t, tag)
            try:
                b.ibload.load("status", t["status"], 1, prefix, start=wu + m)  # probe: worker caught up
                await_sink(b, 1, 120, proc)
                sink_reset(b)
                c0 = cpu_seconds(proc.pid)
                b.ibload.load("status", t["status"], wu + m, prefix, rate=cfg.event_rate, warmup=wu)
                await_sink(b, wu + m, 120, proc)
                c1 = cpu_seconds(proc.pid)
                lat = json.loads(http("GET", f"{b.sink_url}/_lat")[1])
            finally:
                b.procs.stop(proc)
            p50.append(lat["p50_ms"])
            p99.append(lat["p99_ms"])
            p999.append(lat["p999_ms"])
            cpu_us.append((c1 - c0) / (wu + m) * 1e6)
            b.say(f"  {kind} run {i}: p50 {lat['p50_ms']:.2f} ms p99 {lat['p99_ms']:.2f} ms (n={lat['n']})")
        meth = (f"status events at {cfg.event_rate}/s (bench/ibload), each with its scheduled send time; "
                f"the first {cfg.lat_warmup_worker} s a warm-up without samples (the start's connections, fetch "
                f"sessions and first allocations are not the steady state), then {cfg.lat_secs_worker} s measured "
                f"({m:,} samples, so one stall of the shared machine moves the p99 little); the sink's receive "
                "time − that time")
        R.figure(key(kind, "e2e_p50"), p50, "ms", "{:.2f}", f"{meth}: p50")
        R.figure(key(kind, "e2e_p99"), p99, "ms", "{:.2f}", f"{meth}: p99")
        R.figure(key(kind, "e2e_p999"), p999, "ms", "{:.2f}", f"{meth}: p99.9")
        R.figure(key(kind, "e2e_cpu_us"), cpu_us, "µs", "{:.1f}",
                 f"status events at {cfg.event_rate}/s: utime+stime of the SUT over the run (warm-up included) ÷ events")

    k = cfg.known
    b.say(f"worker: RSS with {k} interviews known to the join (and with 1, the baseline)")
    for kind in ("ours", "benthos"):
        per, full, base = [], [], []
        for i in range(cfg.rss_runs):
            sizes = {}
            for label, count in (("base", 1), ("full", k)):
                tag = f"{kind}-rss{label}-{i}-{os.getpid()}"
                t = b.ibload.topics(tag)
                prefix = f"{0xf0000000 + i:08x}"
                b.ibload.load("requested", t["requested"], count, prefix)
                sink_reset(b)
                proc = start_worker(b, kind, t, tag)
                try:
                    b.ibload.load("status", t["status"], 1, prefix, start=count - 1)
                    await_sink(b, 1, 600, proc)
                    time.sleep(1.0)  # what RSS settles to, read 1 s after (the method says so)
                    sizes[label] = rss_kib(proc.pid)
                finally:
                    b.procs.stop(proc)
            base.append(sizes["base"] / 1024)
            full.append(sizes["full"] / 1024)
            per.append((sizes["full"] - sizes["base"]) * 1024 / (k - 1))
            b.say(f"  {kind} run {i}: RSS {sizes['base'] / 1024:.1f} MiB (1 known) -> "
                  f"{sizes['full'] / 1024:.1f} MiB ({k} known): {per[-1]:.0f} B/interview")
        meth = ("VmRSS 1 s after the worker delivered a status event of the last interview joined "
                f"(requested events of {k:,} interviews, or of 1)")
        R.figure(key(kind, "rss_base"), base, "MiB", "{:.1f}", f"{meth}: with 1")
        R.figure(key(kind, "rss_full"), full, "MiB", "{:.1f}", f"{meth}: with {k:,}")
        R.figure(key(kind, "rss_per"), per, "B", "{:.0f}", f"{meth}: (with {k:,} − with 1) ÷ {k - 1:,}")


# ---------------------------------------------------------------- catch-up


def metrics_of(url, names):
    """{name: value} of the Prometheus text at url for the unlabelled series in names."""
    st, body = http("GET", url)
    vals = {}
    for line in body.decode().splitlines() if st == 200 else ():
        name, _, v = line.partition(" ")
        if name in names:
            vals[name] = float(v)
    return vals


def consumer_perf_ms(b, topic, n):
    """Kafka's ConsumerPerformance reading topic's n records: its fetch time in ms."""
    out = kafka_tool(b, CPU_SUT, "ConsumerPerformance", "--bootstrap-server", b.brokers,
                     "--topic", topic, "--messages", str(n), "--timeout", "120000")
    rows = [l for l in out.splitlines() if re.match(r"^\d{4}-", l)]
    if not rows:
        raise RuntimeError(f"ConsumerPerformance printed no result for {topic}: {out[-400:]!r}")
    cols = [c.strip() for c in rows[-1].split(",")]
    # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
    # rebalance.time.ms, fetch.time.ms, ...: the fetch time excludes the group join
    return float(cols[7]) if len(cols) > 7 else None


def bench_catchup(b, R):
    """A restart with n interviews in Kafka (each with its requested event, a completed status
    and that state's changelog record, as a worker wrote it): a fresh gateway until /readyz (its
    views caught up), a fresh worker (its group's offsets at the end, as a restarted one finds
    them) until it delivers a new state of the last interview; Kafka's ConsumerPerformance
    reading the same three topics is the limit. The status topic still holds every event (the
    worst case: all of them within its retention)."""
    cfg = b.cfg
    n = cfg.catchup
    tag = f"catchup-{os.getpid()}"
    t = b.ibload.topics(tag)
    prefix = "c0000000"
    b.say(f"catch-up: {n:,} interviews in Kafka (requested event, completed status and changelog record each)")
    b.ibload.load("requested", t["requested"], n, prefix)
    b.ibload.load("status", t["status"], n, prefix)
    b.ibload.load("state", t["state"], n, prefix)
    gw_s, gw_rss, gw_per, wk_s, wk_per, kc_s = [], [], [], [], [], []
    view_max = str(max(2 * n, 1000))
    for i in range(cfg.runs):
        t0 = time.monotonic()
        proc, _ = start_gateway(b, "ours", {"TOPIC_REQUESTED": t["requested"], "TOPIC_STATUS": t["status"],
                                           "TOPIC_STATE": t["state"], "GATEWAY_VIEW_MAX_INTERVIEWS": view_max})
        try:
            gw_s.append(time.monotonic() - t0)
            held, nbytes = gateway_view(b)
            gw_per.append(nbytes / held if held else None)
            gw_rss.append(rss_kib(proc.pid) / 1024)
        finally:
            b.procs.stop(proc)
        wtag = f"{tag}-w{i}"
        run([b.bins["ibload"], "commit", "-brokers", b.brokers, "-group", f"bench-{wtag}", t["status"],
             t["retry"]])
        sink_reset(b)
        t0 = time.monotonic()
        proc = start_worker(b, "ours", t, wtag)
        try:
            b.ibload.load("status", t["status"], 1, prefix, start=n - 1)  # a newer completed
            await_sink(b, 1, 900, proc)
            wk_s.append(time.monotonic() - t0)
            m = metrics_of(f"http://127.0.0.1:{b.ports.worker}/metrics",
                           ("ib_worker_join_entries", "ib_worker_join_bytes"))
            ent = m.get("ib_worker_join_entries")
            wk_per.append(m["ib_worker_join_bytes"] / ent if ent else None)
        finally:
            b.procs.stop(proc)
        reads = [consumer_perf_ms(b, t[k], n) for k in ("requested", "status", "state")]
        kc_s.append(sum(reads) / 1000 if None not in reads else None)
        b.say(f"  run {i}: gateway ready in {gw_s[-1]:.1f} s ({gw_rss[-1]:.1f} MiB), worker delivering in "
              f"{wk_s[-1]:.1f} s, ConsumerPerformance {kc_s[-1]} s")
    m = f"{n:,} interviews (requested + completed status + changelog record each, ibload bulk) in Kafka"
    R.values["catchup_n"] = n
    R.figure(key("ours", "catchup_gateway_s"), gw_s, "s", "{:.2f}",
             f"{m}: a fresh api-gateway from its start until /readyz answers 200 (views caught up)")
    R.figure(key("ours", "catchup_gateway_rss"), gw_rss, "MiB", "{:.1f}", f"{m}: the gateway's VmRSS then")
    R.figure(key("ours", "view_bytes_per"), gw_per, "B", "{:.0f}",
             f"{m}: ib_gateway_view_interviews_bytes ÷ ib_gateway_view_interviews (slots and payload text)")
    R.figure(key("ours", "catchup_worker_s"), wk_s, "s", "{:.2f}",
             f"{m}: a fresh results-worker (its group's offsets at the end) from its start until the sink "
             "got a new state of the last interview")
    R.figure(key("ours", "join_bytes_per"), wk_per, "B", "{:.0f}",
             f"{m}: ib_worker_join_bytes ÷ ib_worker_join_entries")
    R.figure(key("kafka", "catchup_s"), kc_s, "s", "{:.2f}",
             f"ConsumerPerformance reading the same requested, status and state topics ({3 * n:,} records): "
             "fetch.time.ms of each, summed")


# ---------------------------------------------------------------- limits


def put_lua(b):
    """The wrk script of the sink's ceiling: PUT with the worker's payload, get.lua's summary."""
    lua = b.path("put.lua")
    with open(b.lua("get.lua")) as f:
        get = f.read()
    with open(lua, "w") as f:
        f.write('wrk.method = "PUT"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {config.WORKABLE_TOKEN}"\n'
                f"wrk.body = [[{config.CALLBACK_BODY}]]\n"
                + get.split("function init", 1)[0]
                + "function done(summary, latency, requests)\n"
                  '  io.write(string.format("BENCH requests=%d errors_status=%d errors_connect=%d '
                  'errors_timeout=%d\\n", summary.requests, summary.errors.status, '
                  "summary.errors.connect, summary.errors.timeout))\n"
                  '  io.write(string.format("BENCH p50_us=%d p99_us=%d p999_us=%d\\n", '
                  "latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))\nend\n")
    return lua


def kafka_tool(b, cpu, cls, *args):
    return run(["taskset", "-c", cpu, "java", "-Xmx512m", "-cp", os.path.join(b.kafka_libs, "*"),
                f"-Dlog4j.configuration=file:{b.kafka_data}/log4j.properties",
                f"org.apache.kafka.tools.{cls}", *args]).stdout


def bench_limits(b, R):
    cfg = b.cfg
    b.say("limits: the sink's own ceiling (wrk PUT with the worker's payload, wrk on CPU 1)")
    lua = put_lua(b)
    for c in (8, 64):
        rps, wcpu = [], []
        for _ in range(cfg.runs):
            w = wrk(f"{b.sink_url}/interviews/x", c, cfg.sat_secs, lua, b.wrk_env(), cpu=CPU_SUT)
            rps.append(w["rps"])
            wcpu.append(w["wrk_cpu"] / max(1, w["requests"]) * 1e6)
        m = f"wrk -t1 -c{c} -d{cfg.sat_secs}s PUT with the worker's payload to the sink (wrk on CPU 1)"
        f = R.figure(key("sink", "rps", c), rps, "req/s", method=f"{m}: requests/s")
        g = R.figure(key("sink", "wrk_cpu_us", c), wcpu, "µs", "{:.1f}", f"{m}: wrk's rusage ÷ requests")
        b.say(f"  sink c={c}: {f} req/s, wrk {g} µs CPU/req")

    req_size = len(json.dumps(dict(config.POST_BODY, interview_id="0" * 32, tenant=config.TENANT,
                                   requested_at="2026-11-28T20:00:00.000Z"), separators=(",", ":")))
    st_size = config.STATUS_SIZE
    R.values["req_size"], R.values["st_size"] = req_size, st_size
    b.say(f"limits: Kafka ProducerPerformance ({req_size} B, acks=all, idempotent) and "
          f"ConsumerPerformance ({st_size} B), on CPU 1")
    prod, cons = [], []
    for i in range(cfg.runs):
        topic = f"bench.perf.{os.getpid()}.{i}"
        b.ibload.create(f"{topic}:6")
        out = kafka_tool(b, CPU_SUT, "ProducerPerformance", "--topic", topic,
                         "--num-records", str(cfg.perf_records), "--record-size", str(req_size),
                         "--throughput", "-1", "--producer-props", f"bootstrap.servers={b.brokers}",
                         "acks=all", "enable.idempotence=true")
        m = re.findall(r"([\d.]+) records/sec", out)
        prod.append(float(m[-1]) if m else None)
        # consume the same number of status-sized records
        ctopic = f"bench.perfc.{os.getpid()}.{i}"
        b.ibload.create(f"{ctopic}:6")
        kafka_tool(b, CPU_LOAD, "ProducerPerformance", "--topic", ctopic,
                   "--num-records", str(cfg.perf_records), "--record-size", str(st_size),
                   "--throughput", "-1", "--producer-props", f"bootstrap.servers={b.brokers}", "acks=1")
        out = kafka_tool(b, CPU_SUT, "ConsumerPerformance", "--bootstrap-server", b.brokers,
                         "--topic", ctopic, "--messages", str(cfg.perf_records), "--timeout", "60000")
        rows = [l for l in out.splitlines() if re.match(r"^\d{4}-", l)]
        val = None
        if rows:
            cols = [c.strip() for c in rows[-1].split(",")]
            # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
            try:  # fetch.nMsg.sec (excludes the group join), else nMsg.sec
                val = float(cols[9]) if len(cols) > 9 else float(cols[5])
            except (IndexError, ValueError):
                val = None
        cons.append(val)
        b.say(f"  run {i}: produce {prod[-1]} rec/s, consume {cons[-1]} rec/s")
    # The acknowledgement round trip a POST waits for when the gateway is idle: one record of the
    # requested event's size at a time, acks=all, idempotent, no linger (ibload ackrtt, franz-go).
    rate = capped(cfg, LOW_RATE)
    n = max(20, rate * cfg.lat_secs)
    p50, p99 = [], []
    for i in range(cfg.runs):
        topic = f"bench.ackrtt.{os.getpid()}.{i}"
        b.ibload.create(f"{topic}:6")
        out = run(["taskset", "-c", CPU_LOAD, b.bins["ibload"], "ackrtt", "-brokers", b.brokers,
                   "-topic", topic, "-n", str(n), "-rate", str(rate), "-size", str(req_size)]).stdout
        m = re.search(r"p50_us=([\d.]+) p99_us=([\d.]+)", out)
        if not m:
            raise RuntimeError(f"ibload ackrtt printed no figures: {out!r}")
        p50.append(float(m.group(1)) / 1000)
        p99.append(float(m.group(2)) / 1000)
    am = (f"ibload ackrtt: {n} records of {req_size} B one at a time at {rate}/s, acks=all, "
          "idempotent, linger 0 (franz-go, on CPU 0): produce to acknowledgement")
    f50 = R.figure(key("kafka", "ack_p50"), p50, "ms", "{:.3f}", f"{am}, p50")
    f99 = R.figure(key("kafka", "ack_p99"), p99, "ms", "{:.3f}", f"{am}, p99")
    b.say(f"  acknowledgement round trip @{rate}/s: p50 {f50} ms, p99 {f99} ms")
    if None in prod or None in cons:
        raise RuntimeError(f"Kafka's performance tools printed no rate (produce {prod}, consume {cons})")
    R.figure(key("kafka", "produce"), prod, "rec/s",
             method=f"ProducerPerformance, {cfg.perf_records:,} records of {req_size} B, acks=all, "
                    "idempotent, unthrottled, on CPU 1: records/sec")
    R.figure(key("kafka", "consume"), cons, "rec/s",
             method=f"ConsumerPerformance, {cfg.perf_records:,} records of {st_size} B, on CPU 1: fetch.nMsg.sec")


# ---------------------------------------------------------------- profiles


def bench_profiles(b, R):
    cfg = b.cfg
    b.say("profiles: perf (cpu-clock) of the api-gateway under wrk -c64 POST and GET, and of the "
          "results-worker draining a backlog")
    proc, base = start_gateway(b, "ours")
    try:
        wait_until(lambda: first_post_ok(b, base), 60, "first 201", proc)
        for name, path, lua in (("gateway", "/interviews", "post.lua"),
                                ("gateway_get", "/interview-templates", "get.lua")):
            rec = PerfRecord(proc.pid, cfg.sat_secs, b.path(f"{name}.perf"))
            try:
                wrk(f"{base}{path}", 64, cfg.sat_secs + 1, b.lua(lua), b.wrk_env())
                rec.wait()
            finally:
                rec.stop()
            R.profiles[name] = rec.report()
    finally:
        b.procs.stop(proc)
    n = cfg.backlog
    tag = f"ours-prof-{os.getpid()}"
    t = b.ibload.topics(tag)
    b.ibload.load("requested", t["requested"], n, "c0000000")
    b.ibload.load("status", t["status"], n, "c0000000")
    sink_reset(b)
    proc = start_worker(b, "ours", t, tag)
    try:
        wait_until(lambda: sink_stats(b)["count"] > 0, 120, "first delivery", proc)
        drain = R.figures.get(key("ours", "drain_rate"))
        rate = drain.med if drain is not None and drain.med else 10000
        secs = max(2, min(cfg.sat_secs, int(n / rate * 0.6)))
        rec = PerfRecord(proc.pid, secs, b.path("worker.perf"))
        try:
            rec.wait()
        finally:
            rec.stop()
        R.profiles["worker"] = rec.report()
    finally:
        b.procs.stop(proc)


PART_FUNCS = {"gateway": bench_gateway, "rss256": bench_gateway_rss_fresh, "worker": bench_worker,
              "catchup": bench_catchup, "limits": bench_limits, "profile": bench_profiles}


# ---------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description="the measuring step of bench/run: writes one JSON file")
    ap.add_argument("--mode", choices=("full", "quick", "smoke"), default="full")
    ap.add_argument("--only", default=",".join(config.PARTS),
                    help=f"comma-separated parts of {','.join(config.PARTS)} (rss256 comes with gateway)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--json", required=True, help="the run's JSON file to write")
    a = ap.parse_args(argv)
    only = set(a.only.split(","))
    unknown = only - set(config.PARTS)
    if unknown:
        ap.error(f"unknown part(s) {','.join(sorted(unknown))}")
    if "gateway" in only:
        only.add("rss256")
    if a.no_profile:
        only.discard("profile")
    a.parts = [p for p in config.PARTS if p in only]
    return a


def environment():
    """What bench/run hands over, in the environment."""
    e = os.environ
    return {"bins": json.loads(e["BENCH_BINS"]), "kafka_libs": e["BENCH_KAFKA_LIBS"],
            "kafka_data": e["BENCH_KAFKA_DATA_DIR"], "kafka_port": int(e["BENCH_KAFKA_PORT"]),
            "port_base": int(e.get("BENCH_PORT_BASE", "23080")), "commit": e.get("BENCH_COMMIT", "?"),
            "log_level": e.get("BENCH_LOG_LEVEL", "info"),
            "versions": {"benthos": e.get("BENCH_BENTHOS_VERSION", "?"),
                         "franz": e.get("BENCH_FRANZ_VERSION", "?"),
                         "vegeta": e.get("BENCH_VEGETA_VERSION", "?")}}


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds: every finally stops what it started


def main(argv):
    a = parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    env = environment()
    cfg = Config.of(a.mode)
    ports = Ports.from_base(env["port_base"], env["kafka_port"])
    with open(os.path.join(env["kafka_data"], "kafka.pid")) as f:
        kafka_pid = int(f.read())
    work = tempfile.mkdtemp(prefix="ib-bench-")
    log = Log()
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": env["commit"], "mode": cfg.mode, "source": env["bins"]["source"],
            "facts": machine_facts(env["bins"]["source"], env["versions"]["vegeta"]),
            "versions": env["versions"], "log_level": env["log_level"],
            "kafka": {"port": ports.kafka, "data": env["kafka_data"]}}
    R = Results(meta, cfg.to_json(), log)
    b = Bench(cfg, ports, work, env["bins"], kafka_pid, env["kafka_libs"], env["kafka_data"], log,
              env["log_level"])
    try:
        run(["taskset", "-a", "-p", "-c", CPU_BROKER, str(kafka_pid)])
        log.say(f"bench: {cfg.mode} mode, parts {','.join(a.parts)}, vegeta -max-connections=256, "
                f"work dir {work}, broker pid {kafka_pid} on CPU {CPU_BROKER}")
        # the catalog of the bench tenant (GET /interview-templates, template check of POST)
        run(["kcat", "-P", "-b", b.brokers, "-t", "interviews.catalog", "-k", config.TENANT,
             "-X", "partitioner=murmur2_random"], input=json.dumps(config.CATALOG))
        start_sink(b)
        for part in a.parts:
            t0 = time.monotonic()
            try:
                PART_FUNCS[part](b, R)
                R.parts.append(part)
                log.say(f"{part}: done in {time.monotonic() - t0:.0f} s")
            except Exception as e:  # the next part still runs; the run fails at the end
                R.failures.append({"part": part, "error": f"{type(e).__name__}: {e}"})
                log.say(f"{part} FAILED after {time.monotonic() - t0:.0f} s: {type(e).__name__}: {e}")
                b.procs.stop_all()
                start_sink(b)
    except Exception as e:
        R.failures.append({"part": "setup", "error": f"{type(e).__name__}: {e}"})
        log.say(f"setup FAILED: {type(e).__name__}: {e}")
    finally:
        b.procs.stop_all()
        R.write(a.json)
        log.say(f"results: {a.json} (logs of the processes in {work})")
    # a profile is a bonus in a measuring run: its failure does not fail the run (in a smoke it does)
    fatal = [f for f in R.failures if f["part"] != "profile" or cfg.mode == "smoke"]
    return 1 if fatal else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
