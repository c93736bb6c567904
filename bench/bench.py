#!/usr/bin/env python3
"""bench/bench.py: every benchmark of issue 6, run side by side, written to BENCHMARKS.md.

Run it through bench/run [--quick] [--no-profile] [--out FILE]. Python 3 stdlib only; the tools
it drives are installed by bench/run (wrk, nginx from Debian; vegeta, Benthos v4 + our franz-go
plugins from the Go module proxy; the C sink compiled here; Kafka 3.9.2 by scripts/kafka).

Pinning (taskset), the same for every system under test (SUT):
  CPU 0: the Kafka broker (all its threads), the load generator (wrk -t1, vegeta with
         GOMAXPROCS=1, ibload), the callback sink
  CPU 1: the SUT: api-gateway | Benthos | nginx, results-worker | Benthos, and wrk when it is the
         client measured against the sink (the sink's ceiling)
CPU cost: utime+stime of the process (all its threads) from /proc/<pid>/stat over the measured
window, divided by the requests (deliveries) completed in it; for wrk, from its rusage.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("BENCH_BUILD_DIR", os.path.join(HERE, ".build"))
KAFKA_PORT = int(os.environ.get("BENCH_KAFKA_PORT", "23092"))
KAFKA_DATA = os.environ.get("BENCH_KAFKA_DATA_DIR", "/tmp/ib-bench-kafka")
BROKERS = f"127.0.0.1:{KAFKA_PORT}"
# Below the ephemeral range (32768-60999 here): a client socket of the load generator can never
# hold one of these ports when a server is started.
P_GW, P_BENTHOS, P_NGINX, P_WORKER, P_SINK = 23080, 23082, 23083, 23081, 23180
P_GW_OPS = 23084  # our gateway's operations listener (/metrics)
SINK = f"http://127.0.0.1:{P_SINK}"
TOKEN = "bench-token"
WORKABLE_TOKEN = "bench-workable-token"
SECRET = "bench-secret"
TENANT = "bench"
CPU_BROKER, CPU_SUT, CPU_LOAD = "0", "1", "0"
TICK = os.sysconf("SC_CLK_TCK")

# The contract's example POST /interviews body (tests/integration/harness.py), callback_url varied.
POST_BODY = {
    "interview_template_id": "12345", "job_id": "6789", "job_title": "Operations Manager",
    "callback_url": "https://groove-tech.workable.com/interviews/8823119",
    "candidate": {"first_name": "Lakita", "last_name": "Marrero", "phone": "(785)991-6256",
                  "email": "lakita_marrero@gmail.com"},
    "preferences": {"key": "value"},
}
CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Manager Interview"},
                                   {"id": "2", "name": "Java Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
# What the worker PUTs for ibload's status event (the sink ceiling's request body).
CALLBACK_BODY = json.dumps({
    "status": "completed", "results_url": "https://acme.com/interviews/2044922",
    "interview": {"score": "78", "grade": "excelled",
                  "summary": "This candidate is an excellent prospect.",
                  "details": {"behavior": {"Influence": 97, "conscientiousness": 76},
                              "mental_skills": {"Problem Solving": 82, "Aptitude": 91}},
                  "duration": "01:01:17"},
    "attachments": [{"description": "Interview Report",
                     "url": "https://acme.com/interviews/2044922/report.pdf"}]},
    separators=(",", ":"))

LOG = []


def say(msg):
    line = f"[{datetime.datetime.now().strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    LOG.append(line)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


# ---------------------------------------------------------------- processes and /proc


class Proc:
    """A process we started (own session), pinned with taskset; stopped by pid only."""

    def __init__(self, name, argv, cpu, env=None, log=None, cwd=None):
        self.name = name
        self.log_path = log or os.path.join(WORK, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.p = subprocess.Popen(["taskset", "-c", cpu] + argv, env=env, cwd=cwd,
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.p.pid  # taskset execs the program: same pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=20):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()

    def tail(self, n=20):
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")


def cpu_seconds(pid):
    """utime+stime of the whole process (every thread), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def http(method, url, body=None, headers=None, timeout=5):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def sink_stats():
    return json.loads(http("GET", f"{SINK}/_stats")[1])


def gateway_view(base):
    """(interviews, bytes) of our gateway's interviews view, from its /metrics (on the operations
    listener, not base): what the RSS figures include besides connections (the view holds every
    interview posted so far)."""
    st, body = http("GET", f"http://127.0.0.1:{P_GW_OPS}/metrics")
    vals = {}
    for line in body.decode().splitlines() if st == 200 else ():
        name, _, v = line.partition(" ")
        if name in ("ib_gateway_view_interviews", "ib_gateway_view_interviews_bytes"):
            vals[name] = float(v)
    return vals.get("ib_gateway_view_interviews", float("nan")), vals.get("ib_gateway_view_interviews_bytes", float("nan"))


# ---------------------------------------------------------------- stats


def med(xs):
    return statistics.median(xs) if xs else float("nan")


class M:
    """A measured figure: the values of the runs; median, min, max."""

    def __init__(self, values, unit, fmt="{:.0f}"):
        self.values = [v for v in values if v is not None]
        self.unit, self.fmt = unit, fmt

    @property
    def med(self):
        return med(self.values)

    def __str__(self):
        if not self.values:
            return "n/a"
        f = self.fmt
        if len(self.values) == 1:
            return f.format(self.values[0])
        return f"{f.format(self.med)} ({f.format(min(self.values))}–{f.format(max(self.values))})"


def ratio(a, b):
    if a is None or b is None or not a.values or not b.values or not b.med:
        return "n/a"
    return f"{a.med / b.med:.2f}"


def percentile(sorted_xs, p):
    if not sorted_xs:
        return float("nan")
    i = min(len(sorted_xs) - 1, max(0, int(round(p * (len(sorted_xs) - 1)))))
    return sorted_xs[i]


# ---------------------------------------------------------------- load generators


def wrk(url, conns, secs, script, cpu=CPU_LOAD, env_extra=None):
    """wrk -t1; returns dict(rps, requests, non2xx, errors, p50/p99/p999 ms, cpu_s of wrk)."""
    env = dict(os.environ, BENCH_TOKEN=TOKEN, BENCH_SINK=SINK, **(env_extra or {}))
    argv = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
            "-s", script, url]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    b = dict(re.findall(r"(\w+)=(\d+)", " ".join(l for l in out.splitlines() if l.startswith("BENCH"))))
    if not m or not b:
        raise RuntimeError(f"wrk failed: {out}")
    req = int(b["requests"])
    return {"rps": float(m.group(1)), "requests": req, "non2xx": int(b["errors_status"]),
            "errors": int(b["errors_connect"]) + int(b["errors_timeout"]),
            "p50": int(b["p50_us"]) / 1000, "p99": int(b["p99_us"]) / 1000,
            "p999": int(b["p999_us"]) / 1000, "wrk_cpu": ru.ru_utime + ru.ru_stime}


def vegeta_targets(path, method, url, n, body_fn=None):
    with open(path, "w") as f:
        for i in range(n):
            t = {"method": method, "url": url,
                 "header": {"Authorization": [f"Bearer {TOKEN}"],
                            "Content-Type": ["application/json"]}}
            if body_fn:
                t["body"] = base64.b64encode(body_fn(i).encode()).decode()
            f.write(json.dumps(t) + "\n")


def vegeta(targets, rate, secs):
    """Constant-rate open-model load (vegeta attack); latencies from its results."""
    res = os.path.join(WORK, "vegeta.bin")
    env = dict(os.environ, GOMAXPROCS="1")
    with open(res, "wb") as out:
        subprocess.run(["taskset", "-c", CPU_LOAD, VEGETA, "attack", "-format=json",
                        f"-targets={targets}", f"-rate={int(rate)}/s", f"-duration={secs}s",
                        "-timeout=10s", "-keepalive=true", "-max-connections=256"],
                       stdout=out, check=True, env=env)
    enc = subprocess.run([VEGETA, "encode", "--to", "csv", res], check=True, capture_output=True,
                         text=True).stdout
    lat, ok, n = [], 0, 0
    for line in enc.splitlines():
        parts = line.split(",")
        if len(parts) < 3:
            continue
        n += 1
        code, ns = int(parts[1]), int(parts[2])
        lat.append(ns / 1e6)
        ok += 200 <= code < 300
    lat.sort()
    return {"n": n, "ok": ok, "p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99),
            "p999": percentile(lat, 0.999), "max": lat[-1] if lat else float("nan")}


def post_body(tag):
    def f(i):
        b = dict(POST_BODY, callback_url=f"{SINK}/interviews/{tag}-{i}")
        return json.dumps(b, separators=(",", ":"))
    return f


# ---------------------------------------------------------------- systems under test


def service_env(extra):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORK, "LANG": "C.UTF-8",
           "KAFKA_BOOTSTRAP_SERVERS": BROKERS, "TENANTS_FILE": TENANTS,
           "ALLOW_INSECURE_CALLBACKS": "1", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "info")}
    env.update(extra)
    return env


def benthos_env(extra):
    env = dict(os.environ, BENCH_BROKERS=BROKERS, BENCH_TOKEN_SHA256=TOKEN_SHA,
               BENCH_ID_SECRET=SECRET, BENCH_WORKABLE_TOKEN=WORKABLE_TOKEN)
    env.update(extra)
    return env


def wait_port_free(port, timeout=120):
    def free():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False
    wait_until(free, timeout, f"127.0.0.1:{port} to be free")


def start_gateway(kind, extra=None):
    wait_port_free({"ours": P_GW, "benthos": P_BENTHOS, "nginx": P_NGINX}[kind])
    if kind == "ours":
        p = Proc("api-gateway", [BIN["gateway"]], CPU_SUT, service_env(
            dict({"GATEWAY_LISTEN": f"127.0.0.1:{P_GW}", "GATEWAY_OPS_LISTEN": f"127.0.0.1:{P_GW_OPS}",
                  "INTERVIEW_ID_SECRET": SECRET,
                  # one load generator, one tenant: the fairness limits would measure themselves
                  "GATEWAY_MAX_CONNECTIONS_PER_IP": "100000", "GATEWAY_CREATE_RATE": "0"},
                 **(extra or {}))))
        try:
            wait_until(lambda: http("GET", f"http://127.0.0.1:{P_GW}/readyz")[0] == 200, 600,
                       "api-gateway /readyz")
            wait_until(lambda: http("GET", f"http://127.0.0.1:{P_GW}/interview-templates",
                                    headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200, 60,
                       "api-gateway catalog view")
        except Exception:
            p.stop()  # never leave it holding the port for the next step
            raise
        return p, f"http://127.0.0.1:{P_GW}"
    if kind == "benthos":
        p = Proc("benthos-gateway", [BIN["benthos"], "-c", os.path.join(HERE, "peers", "gateway.yaml")],
                 CPU_SUT, benthos_env({"BENCH_PEER_LISTEN": f"127.0.0.1:{P_BENTHOS}"}))
        wait_until(lambda: port_open(P_BENTHOS), 60, "Benthos http_server")
        return p, f"http://127.0.0.1:{P_BENTHOS}"
    if kind == "nginx":
        p = Proc("nginx", ["nginx", "-p", WORK, "-c", NGINX_CONF], CPU_SUT)
        wait_until(lambda: port_open(P_NGINX), 30, "nginx")
        return p, f"http://127.0.0.1:{P_NGINX}"
    raise ValueError(kind)


def first_post_ok(base):
    st, body = http("POST", f"{base}/interviews", post_body("probe")(0).encode(),
                    {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, 15)
    return st == 201


# ---------------------------------------------------------------- gateway benchmarks


def bench_gateway(cfg, R):
    """All three HTTP SUTs run at once (idle ones cost ~nothing) and their runs are interleaved
    (ours, Benthos, nginx, ours, ...), so the machine's drifting noise hits them alike."""
    say("gateway: saturation (wrk), CPU and RSS per SUT, POST /interviews and GET /interview-templates")
    post_lua = os.path.join(HERE, "lua", "post.lua")
    get_lua = os.path.join(HERE, "lua", "get.lua")
    conns = [16, 64, 256]
    kinds = ("ours", "benthos", "nginx")
    procs = {}
    try:
        for kind in kinds:
            procs[kind] = start_gateway(kind)
            if kind != "nginx":
                wait_until(lambda: first_post_ok(procs[kind][1]), 60, f"{kind}: first 201")
            wrk(f"{procs[kind][1]}/interviews", 16, 2, post_lua)  # warm-up
        for ep, lua, path in (("post", post_lua, "/interviews"), ("get", get_lua, "/interview-templates")):
            eks = [k for k in kinds if not (ep == "get" and k == "benthos")]
            for c in conns:
                acc = {k: {"rps": [], "cpu": [], "brk": [], "rss": [], "p99": [], "bad": 0} for k in eks}
                for _ in range(cfg.runs):
                    for kind in eks:
                        proc, base = procs[kind]
                        a = acc[kind]
                        c0, b0 = cpu_seconds(proc.pid), cpu_seconds(KAFKA_PID)
                        samp = RssSampler(proc.pid)
                        w = wrk(base + path, c, cfg.sat_secs, lua)
                        maxrss = samp.stop()
                        c1, b1 = cpu_seconds(proc.pid), cpu_seconds(KAFKA_PID)
                        good = max(1, w["requests"] - w["non2xx"])
                        a["rps"].append(w["rps"] * good / max(1, w["requests"]))
                        a["cpu"].append((c1 - c0) / good * 1e6)
                        a["brk"].append((b1 - b0) / good * 1e6)
                        a["rss"].append(maxrss / 1024)
                        a["p99"].append(w["p99"])
                        a["bad"] += w["non2xx"] + w["errors"]
                        if kind == "ours":
                            R[("ours", ep, "view", c)] = gateway_view(base)
                for kind in eks:
                    a = acc[kind]
                    R[(kind, ep, "rps", c)] = M(a["rps"], "req/s")
                    R[(kind, ep, "cpu_us", c)] = M(a["cpu"], "µs", "{:.1f}")
                    R[(kind, ep, "broker_cpu_us", c)] = M(a["brk"], "µs", "{:.1f}")
                    R[(kind, ep, "rss", c)] = M(a["rss"], "MiB", "{:.1f}")
                    R[(kind, ep, "wrk_p99", c)] = M(a["p99"], "ms", "{:.1f}")
                    R[(kind, ep, "bad", c)] = a["bad"]
                    say(f"  {kind} {ep} c={c}: {R[(kind, ep, 'rps', c)]} 2xx/s, "
                        f"CPU {R[(kind, ep, 'cpu_us', c)]} µs/req, RSS {R[(kind, ep, 'rss', c)]} MiB, "
                        f"errors/non-2xx {a['bad']}")
                    if kind == "ours":
                        n, b = R[("ours", ep, "view", c)]
                        say(f"  ours: interviews view after these runs: {n:.0f} interviews, {b / 1048576:.1f} MiB")
        # constant-rate latency: half of the lower saturation (both below saturation: the p99
        # comparison) and half of ours (the target), from the 64-connection saturation
        sat_ours = R[("ours", "post", "rps", 64)].med
        sat_benthos = R[("benthos", "post", "rps", 64)].med
        rates = sorted({int(0.5 * min(sat_ours, sat_benthos)), int(0.5 * sat_ours)})
        if len(rates) == 2 and rates[1] < rates[0] * 1.15:
            rates = [rates[0]]
        R["post_rates"] = rates
        get_rate = int(0.5 * R[("ours", "get", "rps", 64)].med)
        R["get_rate"] = get_rate
        say(f"gateway: constant-rate latency (vegeta) at {rates} POST/s and {get_rate} GET/s")
        plan = [("post", r, "POST", "/interviews", kinds) for r in rates]
        plan.append(("get", get_rate, "GET", "/interview-templates", ("ours", "nginx")))
        for ep, rate, method, path, eks in plan:
            vals = {k: {"p50": [], "p99": [], "p999": [], "ok": []} for k in eks}
            for run_i in range(cfg.runs):
                for kind in eks:
                    tg = os.path.join(WORK, "targets.json")
                    n = min(int(rate * cfg.lat_secs), 200000)
                    vegeta_targets(tg, method, procs[kind][1] + path, n,
                                   post_body(f"v{kind}{rate}r{run_i}t{time.time_ns()}") if method == "POST" else None)
                    v = vegeta(tg, rate, cfg.lat_secs)
                    time.sleep(2)  # let an overloaded SUT drain before the next one runs
                    for k in ("p50", "p99", "p999"):
                        vals[kind][k].append(v[k])
                    vals[kind]["ok"].append(100.0 * v["ok"] / max(1, v["n"]))
            for kind in eks:
                for k in ("p50", "p99", "p999"):
                    R[(kind, ep, k, rate)] = M(vals[kind][k], "ms", "{:.2f}")
                R[(kind, ep, "ok", rate)] = M(vals[kind]["ok"], "%", "{:.1f}")
                say(f"  {kind} {ep} @{rate}/s: p50 {R[(kind, ep, 'p50', rate)]} p99 "
                    f"{R[(kind, ep, 'p99', rate)]} p99.9 {R[(kind, ep, 'p999', rate)]} ms, "
                    f"2xx {R[(kind, ep, 'ok', rate)]} %")
    finally:
        for proc, _ in procs.values():
            proc.stop()


def bench_gateway_rss_fresh(cfg, R):
    """RSS at 256 connections of a gateway whose interviews view starts empty: each run starts our
    gateway on a fresh interviews.requested topic, so its view holds only that run's interviews
    (as Benthos holds only its own run's state). Separates the cost of 256 connections from the
    view, which in the saturation runs above holds every interview posted so far."""
    say("gateway: RSS at 256 connections with a fresh interviews view (one new requested topic per run)")
    post_lua = os.path.join(HERE, "lua", "post.lua")
    rss, views, rps = [], [], []
    for i in range(cfg.runs):
        t = topics_for(f"rss256-{i}-{os.getpid()}")
        proc, base = start_gateway("ours", {"TOPIC_REQUESTED": t["requested"]})
        try:
            wait_until(lambda: first_post_ok(base), 60, "ours: first 201 (fresh view)")
            samp = RssSampler(proc.pid)
            w = wrk(f"{base}/interviews", 256, cfg.sat_secs, post_lua)
            rss.append(samp.stop() / 1024)
            rps.append(w["rps"])
            views.append(gateway_view(base))
        finally:
            proc.stop()
        say(f"  run {i}: max RSS {rss[-1]:.1f} MiB at {w['rps']:.0f} req/s, view {views[-1][0]:.0f} interviews "
            f"({views[-1][1] / 1048576:.1f} MiB allocated)")
    R[("ours", "post", "rss_fresh", 256)] = M(rss, "MiB", "{:.1f}")
    R[("ours", "post", "rss_fresh_view", 256)] = M([v[0] for v in views], "interviews")


class RssSampler:
    """Max VmRSS of pid while a load runs (sampled every 100 ms in a thread)."""

    def __init__(self, pid):
        import threading
        self.pid, self.max, self.done = pid, 0, threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.done.is_set():
            try:
                self.max = max(self.max, rss_kib(self.pid))
            except OSError:
                return
            self.done.wait(0.1)

    def stop(self):
        self.done.set()
        self.t.join()
        return self.max


# ---------------------------------------------------------------- worker benchmarks


def topics_for(tag):
    t = {k: f"bench.{tag}.{k}" for k in ("requested", "status", "retry", "dlq", "catalog")}
    run([IBLOAD, "topics", "-brokers", BROKERS, f"{t['requested']}:6", f"{t['status']}:6",
         f"{t['retry']}:6", f"{t['dlq']}:3", f"{t['catalog']}:3"])
    return t


def load(mode, topic, n, prefix, rate=0, start=0):
    argv = [IBLOAD, mode, "-brokers", BROKERS, "-topic", topic, "-n", str(n), "-from", str(start),
            "-prefix", prefix, "-tenant", TENANT, "-sink", SINK]
    if rate:
        argv += ["-rate", str(rate)]
    return run(["taskset", "-c", CPU_LOAD] + argv).stdout.strip()


def start_worker(kind, t, tag):
    if kind == "ours":
        wait_port_free(P_WORKER)
        env = service_env({"WORKER_LISTEN": f"127.0.0.1:{P_WORKER}", "WORKER_GROUP_ID": f"bench-{tag}",
                           "TOPIC_REQUESTED": t["requested"], "TOPIC_STATUS": t["status"],
                           "TOPIC_RETRY": t["retry"], "TOPIC_DLQ": t["dlq"],
                           "TOPIC_CATALOG": t["catalog"]})
        return Proc("results-worker", [BIN["worker"]], CPU_SUT, env)
    env = benthos_env({"BENCH_TOPIC_REQUESTED": t["requested"], "BENCH_TOPIC_STATUS": t["status"],
                       "BENCH_PEER_GROUP": f"bench-{tag}"})
    return Proc("benthos-worker", [BIN["benthos"], "-c", os.path.join(HERE, "peers", "worker.yaml")],
                CPU_SUT, env)


def await_sink(count, timeout, proc):
    """Polls the sink until it counted `count`; returns (t0, cpu0, n0, t1, cpu1, n1): the first poll
    that saw a delivery and the final one (CPU of proc at both)."""
    first = None
    deadline = time.monotonic() + timeout
    while True:
        s = sink_stats()
        now = time.monotonic()
        cpu = cpu_seconds(proc.pid)
        if first is None and s["count"] > 0:
            first = (now, cpu, s["count"])
        if s["count"] >= count:
            return first + (now, cpu, s["count"]), s
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        if now > deadline:
            raise RuntimeError(f"{proc.name}: sink counted {s['count']} of {count} in {timeout}s")
        time.sleep(0.05)


def bench_worker(cfg, R):
    n = cfg.backlog
    say(f"worker: draining a backlog of {n} status events into the sink")
    acc = {k: ([], [], []) for k in ("ours", "benthos")}
    for i in range(cfg.runs):
        for kind in ("ours", "benthos"):
            rate, cpu_us, rss = acc[kind]
            tag = f"{kind}-drain-{i}-{os.getpid()}"
            t = topics_for(tag)
            prefix = f"{0xd0000000 + i:08x}"
            load("requested", t["requested"], n, prefix)
            load("status", t["status"], n, prefix)
            http("GET", f"{SINK}/_reset")
            proc = start_worker(kind, t, tag)
            try:
                (t0, c0, n0, t1, c1, n1), s = await_sink(n, cfg.drain_timeout, proc)
                # the sink's own clock for the rate: first to last delivery
                rate.append((s["count"] - 1) / max(1e-9, (s["last_ns"] - s["first_ns"]) / 1e9))
                cpu_us.append((c1 - c0) / max(1, n1 - n0) * 1e6)
                rss.append(rss_kib(proc.pid) / 1024)
            finally:
                proc.stop()
            say(f"  {kind} run {i}: {rate[-1]:.0f} deliveries/s, {cpu_us[-1]:.1f} µs CPU/delivery")
    for kind, (rate, cpu_us, rss) in acc.items():
        R[(kind, "drain_rate")] = M(rate, "/s")
        R[(kind, "drain_cpu_us")] = M(cpu_us, "µs", "{:.1f}")
        R[(kind, "drain_rss")] = M(rss, "MiB", "{:.1f}")

    say(f"worker: event-to-2xx latency at {cfg.event_rate} events/s for {cfg.lat_secs_worker} s")
    for kind in ("ours", "benthos"):
        p50, p99, p999, cpu_us = [], [], [], []
        for i in range(cfg.runs):
            tag = f"{kind}-lat-{i}-{os.getpid()}"
            t = topics_for(tag)
            m = int(cfg.event_rate * cfg.lat_secs_worker)
            prefix = f"{0xe0000000 + i:08x}"
            load("requested", t["requested"], m + 1, prefix)
            http("GET", f"{SINK}/_reset")
            proc = start_worker(kind, t, tag)
            try:
                load("status", t["status"], 1, prefix, start=m)  # probe: worker caught up
                await_sink(1, 120, proc)
                http("GET", f"{SINK}/_reset")
                c0 = cpu_seconds(proc.pid)
                load("status", t["status"], m, prefix, rate=cfg.event_rate)
                await_sink(m, 120, proc)
                c1 = cpu_seconds(proc.pid)
                lat = json.loads(http("GET", f"{SINK}/_lat")[1])
            finally:
                proc.stop()
            p50.append(lat["p50_ms"])
            p99.append(lat["p99_ms"])
            p999.append(lat["p999_ms"])
            cpu_us.append((c1 - c0) / m * 1e6)
            say(f"  {kind} run {i}: p50 {lat['p50_ms']:.2f} ms p99 {lat['p99_ms']:.2f} ms "
                f"(n={lat['n']})")
        R[(kind, "e2e_p50")] = M(p50, "ms", "{:.2f}")
        R[(kind, "e2e_p99")] = M(p99, "ms", "{:.2f}")
        R[(kind, "e2e_p999")] = M(p999, "ms", "{:.2f}")
        R[(kind, "e2e_cpu_us")] = M(cpu_us, "µs", "{:.1f}")

    k = cfg.known
    say(f"worker: RSS with {k} interviews known to the join (and with 1, the baseline)")
    for kind in ("ours", "benthos"):
        per, full, base = [], [], []
        for i in range(cfg.rss_runs):
            sizes = {}
            for label, count in (("base", 1), ("full", k)):
                tag = f"{kind}-rss{label}-{i}-{os.getpid()}"
                t = topics_for(tag)
                prefix = f"{0xf0000000 + i:08x}"
                load("requested", t["requested"], count, prefix)
                http("GET", f"{SINK}/_reset")
                proc = start_worker(kind, t, tag)
                try:
                    load("status", t["status"], 1, prefix, start=count - 1)
                    await_sink(1, 600, proc)
                    time.sleep(1.0)
                    sizes[label] = rss_kib(proc.pid)
                finally:
                    proc.stop()
            base.append(sizes["base"] / 1024)
            full.append(sizes["full"] / 1024)
            per.append((sizes["full"] - sizes["base"]) * 1024 / (k - 1))
            say(f"  {kind} run {i}: RSS {sizes['base'] / 1024:.1f} MiB (1 known) -> "
                f"{sizes['full'] / 1024:.1f} MiB ({k} known): {per[-1]:.0f} B/interview")
        R[(kind, "rss_base")] = M(base, "MiB", "{:.1f}")
        R[(kind, "rss_full")] = M(full, "MiB", "{:.1f}")
        R[(kind, "rss_per")] = M(per, "B", "{:.0f}")


# ---------------------------------------------------------------- limits


def bench_limits(cfg, R):
    say("limits: the sink's own ceiling (wrk PUT with the worker's payload, wrk on CPU 1)")
    lua = os.path.join(WORK, "put.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "PUT"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {WORKABLE_TOKEN}"\n'
                f"wrk.body = [[{CALLBACK_BODY}]]\n"
                + open(os.path.join(HERE, "lua", "get.lua")).read().split("function init", 1)[0]
                + "function done(summary, latency, requests)\n"
                  '  io.write(string.format("BENCH requests=%d errors_status=%d errors_connect=%d '
                  'errors_timeout=%d\\n", summary.requests, summary.errors.status, '
                  "summary.errors.connect, summary.errors.timeout))\n"
                  '  io.write(string.format("BENCH p50_us=%d p99_us=%d p999_us=%d\\n", '
                  "latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))\nend\n")
    for c in (8, 64):
        rps, wcpu = [], []
        for _ in range(cfg.runs):
            w = wrk(f"{SINK}/interviews/x", c, cfg.sat_secs, lua, cpu=CPU_SUT)
            rps.append(w["rps"])
            wcpu.append(w["wrk_cpu"] / max(1, w["requests"]) * 1e6)
        R[("sink", "rps", c)] = M(rps, "req/s")
        R[("sink", "wrk_cpu_us", c)] = M(wcpu, "µs", "{:.1f}")
        say(f"  sink c={c}: {R[('sink', 'rps', c)]} req/s, wrk {R[('sink', 'wrk_cpu_us', c)]} µs CPU/req")

    libs = os.path.join(KAFKA_LIBS, "*")
    req_size = len(json.dumps(dict(POST_BODY, interview_id="0" * 32, tenant=TENANT,
                                   requested_at="2026-11-28T20:00:00.000Z"), separators=(",", ":")))
    st_size = 640
    R["req_size"], R["st_size"] = req_size, st_size
    say(f"limits: Kafka ProducerPerformance ({req_size} B, acks=all, idempotent) and "
        f"ConsumerPerformance ({st_size} B), on CPU 1")
    prod, cons = [], []
    for i in range(cfg.runs):
        topic = f"bench.perf.{os.getpid()}.{i}"
        run([IBLOAD, "topics", "-brokers", BROKERS, f"{topic}:6"])
        out = run(["taskset", "-c", CPU_SUT, "java", "-Xmx512m", "-cp", libs,
                   f"-Dlog4j.configuration=file:{KAFKA_DATA}/log4j.properties",
                   "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                   "--num-records", str(cfg.perf_records), "--record-size", str(req_size),
                   "--throughput", "-1", "--producer-props", f"bootstrap.servers={BROKERS}",
                   "acks=all", "enable.idempotence=true"]).stdout
        m = re.findall(r"([\d.]+) records/sec", out)
        prod.append(float(m[-1]) if m else None)
        # consume the same number of status-sized records
        ctopic = f"bench.perfc.{os.getpid()}.{i}"
        run([IBLOAD, "topics", "-brokers", BROKERS, f"{ctopic}:6"])
        run(["taskset", "-c", CPU_LOAD, "java", "-Xmx512m", "-cp", libs,
             f"-Dlog4j.configuration=file:{KAFKA_DATA}/log4j.properties",
             "org.apache.kafka.tools.ProducerPerformance", "--topic", ctopic,
             "--num-records", str(cfg.perf_records), "--record-size", str(st_size),
             "--throughput", "-1", "--producer-props", f"bootstrap.servers={BROKERS}", "acks=1"])
        out = run(["taskset", "-c", CPU_SUT, "java", "-Xmx512m", "-cp", libs,
                   f"-Dlog4j.configuration=file:{KAFKA_DATA}/log4j.properties",
                   "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", BROKERS,
                   "--topic", ctopic, "--messages", str(cfg.perf_records), "--timeout", "60000"]).stdout
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
        say(f"  run {i}: produce {prod[-1]} rec/s, consume {cons[-1]} rec/s")
    R[("kafka", "produce")] = M(prod, "rec/s")
    R[("kafka", "consume")] = M(cons, "rec/s")


# ---------------------------------------------------------------- profiles


def perf_top(pid, secs, out_name):
    """perf record -e cpu-clock (hardware counters are not available here) of pid for secs;
    returns the top symbols (self time) as text."""
    data = os.path.join(WORK, f"{out_name}.perf")
    rec = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(pid),
                            "-o", data, "--", "sleep", str(secs)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return rec, data


def perf_report(data, n=18):
    dso = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso",
                          "-g", "none", "--percent-limit", "0.5"], capture_output=True, text=True).stdout
    dso = [l.rstrip() for l in dso.splitlines() if l.strip() and not l.startswith("#")]
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                          "--sort", "dso,symbol", "-g", "none", "--percent-limit", "0.8"],
                         capture_output=True, text=True).stdout
    rows = [l.rstrip() for l in out.splitlines() if l.strip() and not l.startswith("#")]
    return "by library:\n" + "\n".join(dso[:10]) + "\n\nby symbol (self):\n" + "\n".join(rows[:n])


def bench_profiles(cfg, R):
    say("profiles: perf (cpu-clock) of the api-gateway under wrk -c64 POST and of the "
        "results-worker draining a backlog")
    proc, base = start_gateway("ours")
    try:
        wait_until(lambda: first_post_ok(base), 60, "first 201")
        rec, data = perf_top(proc.pid, cfg.sat_secs, "gateway")
        wrk(f"{base}/interviews", 64, cfg.sat_secs + 1, os.path.join(HERE, "lua", "post.lua"))
        rec.wait()
        R["profile_gateway"] = perf_report(data)
    finally:
        proc.stop()
    n = cfg.backlog
    tag = f"ours-prof-{os.getpid()}"
    t = topics_for(tag)
    load("requested", t["requested"], n, "c0000000")
    load("status", t["status"], n, "c0000000")
    http("GET", f"{SINK}/_reset")
    proc = start_worker("ours", t, tag)
    try:
        wait_until(lambda: sink_stats()["count"] > 0, 120, "first delivery")
        secs = max(2, min(cfg.sat_secs, int(n / max(1, R[("ours", "drain_rate")].med if ("ours", "drain_rate") in R else 10000) * 0.6)))
        rec, data = perf_top(proc.pid, secs, "worker")
        rec.wait()
        R["profile_worker"] = perf_report(data)
    finally:
        proc.stop()


# ---------------------------------------------------------------- report


def verdict(ok):
    return "met" if ok else "**missed**"


def write_report(cfg, R, path, meta):
    L = []
    w = L.append
    rates = R["post_rates"]
    half = int(0.5 * R[("ours", "post", "rps", 64)].med)
    hr = min(rates, key=lambda r: abs(r - half))
    fair = rates[0]
    w("# BENCHMARKS")
    w("")
    w(f"Generated by `bench/run{' --quick' if cfg.quick else ''}` on {meta['date']} "
      f"({'quick mode: short runs, smaller backlog' if cfg.quick else 'full mode'}); "
      f"{cfg.runs} runs per figure: **median (min–max)**. Do not edit by hand: run `bench/run` "
      "to regenerate it.")
    w("")
    w("## Machine and versions")
    w("")
    for k, v in meta["facts"]:
        w(f"- {k}: {v}")
    w("")
    w("## Method")
    w("")
    w(f"""- One Kafka 3.9.2 broker (scripts/kafka, KRaft, 127.0.0.1:{KAFKA_PORT}, data in {KAFKA_DATA}),
  started and stopped by bench/run; every system under test (SUT) talks to it.
- **Pinning (taskset)**: CPU 0 = the broker (all threads), the load generator (wrk -t1, vegeta with
  GOMAXPROCS=1, ibload) and the callback sink; CPU 1 = the SUT (api-gateway, Benthos, nginx,
  results-worker) — and wrk when it is the client measured against the sink. The machine is shared
  with other work (2 noisy cores): read medians and ratios, not single values.
- **CPU per unit of work**: utime+stime of the SUT process (all threads) from /proc/<pid>/stat over
  the measured window ÷ requests answered 2xx (deliveries); wrk's own from its rusage. Broker CPU
  per request is measured the same way.
- **Gateway**: `POST /interviews` with the contract's example body; callback_url differs per request
  (so every request gets its own interview id and event; identical bodies would give identical ids),
  produced to interviews.requested with acks=all (idempotent), 201 only after the broker's ack.
  Saturation: wrk -t1 -c16/64/256 for {cfg.sat_secs} s (after a 2 s warm-up); req/s counts 2xx only;
  RSS = max VmRSS sampled every 100 ms during the run. Latency: vegeta (constant rate, open model:
  no coordinated omission: unlimited workers, each request timed from its scheduled start; at most
  256 connections like the largest wrk run, a request beyond them waits for one and that wait
  counts; 10 s timeout, a timeout counts as 10 s and as non-2xx), {cfg.lat_secs} s per run, at half of min(ours, Benthos) saturation at 64
  connections (both SUTs below saturation: the p99 comparison) and at half of ours (the target).
  `GET /interview-templates` the same way (Benthos has no counterpart: no catalog view).
- **Benthos peer** (bench/peers, Benthos v4 core {meta['benthos']} + our franz-go {meta['franz']}
  plugins): gateway = http_server input → bloblang mapping (Bearer token by SHA-256, required
  fields, the same HMAC-SHA256 interview id — byte-identical to ours —, CloudEvents headers) →
  sync_response → `ib_kafka_sync` output (acks=all, idempotent, returns after the ack; 201 then);
  worker = `ib_kafka_join` input (requested topic from the beginning into a memory cache, status
  consumed once caught up, offsets committed after the ack in order) → the same payload mapping in
  bloblang → http_client PUT with Bearer token and retries (max_in_flight 64).
- **nginx** (HTTP ceiling): one process (master_process off), access_log off, `return 201` with a
  static interview_id body for POST, the catalog JSON for GET; same wrk/vegeta load.
- **Worker**: a backlog of {cfg.backlog:,} status events (contract example, score 78) for {cfg.backlog:,}
  interviews whose requested events are already in Kafka, loaded in bulk by bench/ibload
  (franz-go, murmur2 like the Java client); the SUT starts on fresh topics and a fresh group;
  deliveries/s = sink's count ÷ (last − first delivery), CPU per delivery over the same window. The
  sink (bench/sink/sink.c: one thread, epoll, keep-alive, 200 with an empty body) is on CPU 0.
  Event-to-2xx latency: status events at a constant {cfg.event_rate}/s for {cfg.lat_secs_worker} s;
  each carries its *scheduled* send time in results_url; latency = sink receive time − that time.
  RSS per known interview = (RSS with {cfg.known:,} requested events joined − RSS with 1) ÷ {cfg.known - 1:,},
  read 1 s after the worker delivered a status event of the last interview (so the join caught up).
- Services run with their defaults except: LOG_LEVEL={os.environ.get('BENCH_LOG_LEVEL', 'info')}
  (the default: one JSON access line per request, to a file), ALLOW_INSECURE_CALLBACKS=1 (the sink
  is http on loopback). Release build (-DCMAKE_BUILD_TYPE=Release) in bench/.build.
- Limits: Kafka's ProducerPerformance ({R['req_size']} B records = our requested event, acks=all,
  idempotent, unthrottled; the producer on CPU 1) and ConsumerPerformance ({R['st_size']} B records ≈ a
  status event; fetch rate), from the broker's own jars; the sink's ceiling: wrk PUT with the
  worker's payload (wrk on CPU 1, sink on CPU 0).""")
    w("")
    w("## Gateway: POST /interviews")
    w("")
    w("| figure | ours | Benthos | nginx (static 201) | ours/Benthos | ours/nginx |")
    w("|---|---|---|---|---|---|")
    for c in (16, 64, 256):
        o, b, n = (R[(k, "post", "rps", c)] for k in ("ours", "benthos", "nginx"))
        w(f"| req/s, {c} conns | {o} | {b} | {n} | {ratio(o, b)} | {ratio(o, n)} |")
    for c in (16, 64, 256):
        o, b, n = (R[(k, "post", "cpu_us", c)] for k in ("ours", "benthos", "nginx"))
        w(f"| CPU µs/request, {c} conns | {o} | {b} | {n} | {ratio(o, b)} | {ratio(o, n)} |")
    for c in (16, 64, 256):
        o, b = (R[(k, "post", "broker_cpu_us", c)] for k in ("ours", "benthos"))
        w(f"| broker CPU µs/request, {c} conns | {o} | {b} | – | {ratio(o, b)} | – |")
    for c in (16, 64, 256):
        o, b, n = (R[(k, "post", "rss", c)] for k in ("ours", "benthos", "nginx"))
        w(f"| RSS MiB under load, {c} conns | {o} | {b} | {n} | {ratio(o, b)} | {ratio(o, n)} |")
    if ("ours", "post", "rss_fresh", 256) in R:
        w(f"| RSS MiB, 256 conns, ours with a fresh view (the run's {R[('ours', 'post', 'rss_fresh_view', 256)].med:,.0f} interviews) "
          f"| {R[('ours', 'post', 'rss_fresh', 256)]} | {R[('benthos', 'post', 'rss', 256)]} | {R[('nginx', 'post', 'rss', 256)]} "
          f"| {ratio(R[('ours', 'post', 'rss_fresh', 256)], R[('benthos', 'post', 'rss', 256)])} "
          f"| {ratio(R[('ours', 'post', 'rss_fresh', 256)], R[('nginx', 'post', 'rss', 256)])} |")
    for c in (16, 64, 256):
        if ("ours", "post", "view", c) in R:
            vn, vb = R[("ours", "post", "view", c)]
            w(f"| — of ours: interviews view after the {c}-conn runs | {vn:,.0f} interviews, {vb / 1048576:.1f} MiB | – | – | | |")
    for r in rates:
        for q, name in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
            o, b, n = (R[(k, "post", q, r)] for k in ("ours", "benthos", "nginx"))
            w(f"| {name} ms @ {r}/s | {o} | {b} | {n} | {ratio(o, b)} | {ratio(o, n)} |")
        o, b, n = (R[(k, "post", "ok", r)] for k in ("ours", "benthos", "nginx"))
        w(f"| 2xx % @ {r}/s | {o} | {b} | {n} | | |")
    errs = {k: sum(R[(k, "post", "bad", c)] for c in (16, 64, 256)) for k in ("ours", "benthos", "nginx")}
    w("")
    w(f"Non-2xx answers and socket errors during saturation (all runs): ours {errs['ours']}, "
      f"Benthos {errs['benthos']}, nginx {errs['nginx']}.")
    w("")
    w("## Gateway: GET /interview-templates")
    w("")
    w("| figure | ours | nginx (static 200) | ours/nginx |")
    w("|---|---|---|---|")
    for c in (16, 64, 256):
        o, n = R[("ours", "get", "rps", c)], R[("nginx", "get", "rps", c)]
        w(f"| req/s, {c} conns | {o} | {n} | {ratio(o, n)} |")
    for c in (16, 64, 256):
        o, n = R[("ours", "get", "cpu_us", c)], R[("nginx", "get", "cpu_us", c)]
        w(f"| CPU µs/request, {c} conns | {o} | {n} | {ratio(o, n)} |")
    o, n = R[("ours", "get", "rss", 256)], R[("nginx", "get", "rss", 256)]
    w(f"| RSS MiB, 256 conns | {o} | {n} | {ratio(o, n)} |")
    gr = R["get_rate"]
    for q, name in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
        o, n = R[("ours", "get", q, gr)], R[("nginx", "get", q, gr)]
        w(f"| {name} ms @ {gr}/s | {o} | {n} | {ratio(o, n)} |")
    w("")
    w("## Worker")
    w("")
    w("| figure | ours | Benthos | limit | ours/Benthos | ours/limit |")
    w("|---|---|---|---|---|---|")
    o, b = R[("ours", "drain_rate")], R[("benthos", "drain_rate")]
    sk, kc = R[("sink", "rps", 8)], R[("kafka", "consume")]
    w(f"| deliveries/s, {cfg.backlog:,} backlog | {o} | {b} | sink {R[('sink', 'rps', 64)]} (wrk -c64), "
      f"{sk} (-c8) | {ratio(o, b)} | {ratio(o, sk)} (vs -c8) |")
    w(f"| — vs the broker's consume rate | | | {kc} rec/s | | {ratio(o, kc)} |")
    o, b, wc = R[("ours", "drain_cpu_us")], R[("benthos", "drain_cpu_us")], R[("sink", "wrk_cpu_us", 8)]
    w(f"| CPU µs/delivery (draining) | {o} | {b} | wrk {wc} µs/request (-c8) | {ratio(o, b)} | {ratio(o, wc)} |")
    o, b = R[("ours", "e2e_cpu_us")], R[("benthos", "e2e_cpu_us")]
    w(f"| CPU µs/delivery @ {cfg.event_rate}/s | {o} | {b} | | {ratio(o, b)} | |")
    for q, name in (("e2e_p50", "p50"), ("e2e_p99", "p99"), ("e2e_p999", "p99.9")):
        o, b = R[("ours", q)], R[("benthos", q)]
        w(f"| event-to-2xx {name} ms @ {cfg.event_rate}/s | {o} | {b} | | {ratio(o, b)} | |")
    o, b = R[("ours", "rss_per")], R[("benthos", "rss_per")]
    w(f"| RSS B per known interview ({cfg.known:,}) | {o} | {b} | | {ratio(o, b)} | |")
    o, b = R[("ours", "rss_full")], R[("benthos", "rss_full")]
    w(f"| RSS MiB with {cfg.known:,} known | {o} | {b} | | {ratio(o, b)} | |")
    o, b = R[("ours", "rss_base")], R[("benthos", "rss_base")]
    w(f"| RSS MiB with 1 known | {o} | {b} | | {ratio(o, b)} | |")
    o, b = R[("ours", "drain_rss")], R[("benthos", "drain_rss")]
    w(f"| RSS MiB after draining | {o} | {b} | | {ratio(o, b)} | |")
    w("")
    w("## Limits")
    w("")
    w("| limit | value |")
    w("|---|---|")
    w(f"| Kafka ProducerPerformance, {R['req_size']} B, acks=all, idempotent | {R[('kafka', 'produce')]} rec/s |")
    w(f"| Kafka ConsumerPerformance, {R['st_size']} B | {R[('kafka', 'consume')]} rec/s |")
    for c in (8, 64):
        w(f"| sink ceiling, wrk -c{c} PUT | {R[('sink', 'rps', c)]} req/s, wrk {R[('sink', 'wrk_cpu_us', c)]} µs CPU/request |")
    for c in (16, 64, 256):
        w(f"| nginx static 201, wrk -c{c} | {R[('nginx', 'post', 'rps', c)]} req/s, {R[('nginx', 'post', 'cpu_us', c)]} µs CPU/request |")
    w("")
    w("## Targets (issue 6)")
    w("")
    w("| target | measured | verdict |")
    w("|---|---|---|")
    ob = R[("ours", "post", "rps", 64)].med / R[("benthos", "post", "rps", 64)].med
    w(f"| gateway ≥ 2× Benthos req/s (64 conns) | {ob:.2f}× | {verdict(ob >= 2)} |")
    for c in (16, 256):
        x = R[("ours", "post", "rps", c)].med / R[("benthos", "post", "rps", c)].med
        w(f"| — at {c} conns | {x:.2f}× | {verdict(x >= 2)} |")
    pb = R[("ours", "post", "p99", fair)].med / R[("benthos", "post", "p99", fair)].med
    w(f"| gateway p99 ≤ ½ Benthos's @ {fair}/s | {pb:.2f}× | {verdict(pb <= 0.5)} |")
    cn = R[("ours", "post", "cpu_us", 64)].med / R[("nginx", "post", "cpu_us", 64)].med
    w(f"| gateway CPU/interview ≤ 3× nginx's per static 201 (64 conns) | {R[('ours', 'post', 'cpu_us', 64)].med:.1f} vs "
      f"{R[('nginx', 'post', 'cpu_us', 64)].med:.1f} µs = {cn:.1f}× | {verdict(cn <= 3)} |")
    rs = R[("ours", "post", "rss", 256)].med
    w(f"| gateway RSS ≤ 32 MiB at 256 conns | {rs:.1f} MiB | {verdict(rs <= 32)} |")
    if ("ours", "post", "view", 256) in R:
        vn, vb = R[("ours", "post", "view", 256)]
        w(f"| — with {vn:,.0f} interviews in the view by then ({vb / 1048576:.1f} MiB of slots allocated) | | |")
    if ("ours", "post", "rss_fresh", 256) in R:
        rf = R[("ours", "post", "rss_fresh", 256)]
        w(f"| gateway RSS ≤ 32 MiB at 256 conns, view empty at start (holds the run's "
          f"{R[('ours', 'post', 'rss_fresh_view', 256)].med:,.0f} interviews) | {rf} MiB | {verdict(rf.med <= 32)} |")
    p = R[("ours", "post", "p99", hr)].med
    w(f"| gateway p99 ≤ 10 ms at half saturation ({hr}/s) | {p:.2f} ms | {verdict(p <= 10)} |")
    wb = R[("ours", "drain_rate")].med / R[("benthos", "drain_rate")].med
    w(f"| worker ≥ 2× Benthos deliveries/s | {wb:.2f}× | {verdict(wb >= 2)} |")
    wc = R[("ours", "drain_cpu_us")].med / R[("sink", "wrk_cpu_us", 8)].med
    w(f"| worker CPU/callback ≤ 4× wrk's per request to the sink | {R[('ours', 'drain_cpu_us')].med:.1f} vs "
      f"{R[('sink', 'wrk_cpu_us', 8)].med:.1f} µs = {wc:.1f}× | {verdict(wc <= 4)} |")
    rp = R[("ours", "rss_per")].med
    w(f"| worker ≤ 256 B RSS per known interview | {rp:.0f} B | {verdict(rp <= 256)} |")
    e = R[("ours", "e2e_p99")].med
    w(f"| worker event-to-2xx p99 ≤ 50 ms @ {cfg.event_rate}/s | {e:.2f} ms | {verdict(e <= 50)} |")
    w("")
    if "profile_gateway" in R:
        w("## Profiles (perf record -e cpu-clock, self time; hardware counters are not available here)")
        w("")
        w("api-gateway under wrk -c64 POST /interviews:")
        w("")
        w("```")
        w(R["profile_gateway"])
        w("```")
        w("")
    if "profile_worker" in R:
        w("results-worker draining the backlog:")
        w("")
        w("```")
        w(R["profile_worker"])
        w("```")
        w("")
    notes = os.path.join(HERE, "NOTES.md")
    if os.path.exists(notes):
        w(open(notes).read().rstrip())
        w("")
    w("## Run log")
    w("")
    w("```")
    L.extend(LOG)
    w("```")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


# ---------------------------------------------------------------- main


class Cfg:
    def __init__(self, quick):
        self.quick = quick
        self.runs = 3
        self.sat_secs = 3 if quick else 8
        self.lat_secs = 4 if quick else 10
        self.backlog = 20000 if quick else 100000
        self.drain_timeout = 300 if quick else 900
        self.event_rate = 1000
        self.lat_secs_worker = 5 if quick else 15
        self.known = 100000 if quick else 1000000
        self.rss_runs = 1 if quick else 3
        self.perf_records = 200000 if quick else 1000000


def facts():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = open("/proc/meminfo").readline().split()[1]

    def ver(argv, pat=None):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            s = (out.stdout + out.stderr).strip().splitlines()
            s = [l for l in s if l.strip()]
            if pat:
                s = [l for l in s if re.search(pat, l)] or s
            return s[0].strip() if s else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    load = open("/proc/loadavg").read().split()[:3]
    return [
        ("nproc", os.cpu_count()), ("CPU", cpu), ("memory", f"{int(mem) // 1024} MiB"),
        ("kernel", platform.release()), ("load average at start", " ".join(load)),
        ("gcc", ver(["gcc", "--version"])), ("Kafka", "3.9.2 (scripts/kafka), JVM: " + ver(["java", "-version"])),
        ("librdkafka", ver(["sh", "-c", "dpkg-query -W librdkafka1 librdkafka++1 2>/dev/null | head -1"])),
        ("libmicrohttpd", ver(["sh", "-c", "dpkg-query -W 'libmicrohttpd*' 2>/dev/null | head -1"])),
        ("libcurl", ver(["sh", "-c", "dpkg-query -W libcurl4 2>/dev/null"])),
        ("wrk", ver(["sh", "-c", "dpkg-query -W wrk"])), ("nginx", ver(["nginx", "-v"])),
        ("vegeta", os.environ.get("BENCH_VEGETA_VERSION", "v12.13.0") + " (go install)"), ("Go", ver(["go", "version"])),
        ("services built from", SOURCE),
    ]


def main():
    global WORK, TENANTS, TOKEN_SHA, NGINX_CONF, BIN, VEGETA, IBLOAD, KAFKA_PID, KAFKA_LIBS, SOURCE
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--only", default="gateway,worker,limits,profile")
    ap.add_argument("--report-from", nargs="+", metavar="PICKLE",
                    help="results.pickle of earlier runs: only write the report. With several, "
                         "a later run's figures replace an earlier one's (e.g. a full run, then "
                         "--only gateway,profile after a gateway change); the report names each run")
    a = ap.parse_args()
    if a.report_from:
        import pickle
        runs = [pickle.load(open(path, "rb")) for path in a.report_from]
        R, meta = {}, dict(runs[0]["meta"])
        for i, d in enumerate(runs):
            R.update(d["R"])
            if i > 0:
                LOG.append(f"--- run {i + 1} of the report ({d['meta']['date']}) ---")
            LOG.extend(d["log"])
        if len(runs) > 1:
            def parts(r):
                have = [("gateway", any(isinstance(k, tuple) and k[1:2] in (("post",), ("get",)) for k in r)),
                        ("worker", ("ours", "drain_rate") in r),
                        ("limits", any(isinstance(k, tuple) and k[0] == "sink" for k in r)),
                        ("profiles", "profile_gateway" in r)]
                return ", ".join(name for name, ok in have if ok)
            meta["date"] = "; ".join(f"{d['meta']['date']} ({parts(d['R'])})" for d in runs) + \
                " — a later run's figures replace an earlier one's"
            facts = [dict(d["meta"]["facts"]) for d in runs]
            meta["facts"] = [(k, " | ".join(f"run {i + 1}: {f.get(k)}" for i, f in enumerate(facts))
                              if k in ("load average at start", "services built from") else v)
                             for k, v in runs[0]["meta"]["facts"]]
        write_report(Cfg(runs[0]["quick"]), R, a.out, meta)
        return 0
    cfg = Cfg(a.quick)
    only = set(a.only.split(","))
    if a.no_profile:
        only.discard("profile")
    WORK = tempfile.mkdtemp(prefix="ib-bench-")
    BIN = json.loads(os.environ["BENCH_BINS"])
    VEGETA, IBLOAD, SOURCE = BIN["vegeta"], BIN["ibload"], BIN["source"]
    KAFKA_LIBS = os.environ["BENCH_KAFKA_LIBS"]
    KAFKA_PID = int(open(os.path.join(KAFKA_DATA, "kafka.pid")).read())
    import hashlib
    TOKEN_SHA = hashlib.sha256(TOKEN.encode()).hexdigest()
    TENANTS = os.path.join(WORK, "tenants.json")
    with open(TENANTS, "w") as f:
        json.dump({"tenants": [{"id": TENANT, "api_token_sha256": [TOKEN_SHA],
                                "workable_token": WORKABLE_TOKEN,
                                "callback_hosts": ["127.0.0.1", "localhost"]}]}, f)
    NGINX_CONF = os.path.join(WORK, "nginx.conf")
    cat = json.dumps({"interview_templates": CATALOG["interview_templates"]})
    with open(NGINX_CONF, "w") as f:
        f.write(f"""daemon off; master_process off; worker_processes 1;
pid {WORK}/nginx.pid; error_log {WORK}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  client_body_temp_path {WORK}/ncb; proxy_temp_path {WORK}/np; fastcgi_temp_path {WORK}/nf;
  uwsgi_temp_path {WORK}/nu; scgi_temp_path {WORK}/ns;
  server {{
    listen 127.0.0.1:{P_NGINX} reuseport backlog=4096;
    location = /interviews {{ default_type application/json;
      return 201 '{{"interview_id":"bf70ebf5e53a84535e24833b74e344aa"}}'; }}
    location = /interview-templates {{ default_type application/json; return 200 '{cat}'; }}
  }}
}}
""")
    subprocess.run(["taskset", "-a", "-p", "-c", CPU_BROKER, str(KAFKA_PID)], check=True,
                   stdout=subprocess.DEVNULL)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "facts": facts(), "benthos": os.environ.get("BENCH_BENTHOS_VERSION", "?"),
            "franz": os.environ.get("BENCH_FRANZ_VERSION", "?")}
    say(f"bench: {'quick' if cfg.quick else 'full'} mode, vegeta -max-connections=256, work dir {WORK}, broker pid {KAFKA_PID} on CPU {CPU_BROKER}")
    # the catalog of the bench tenant (GET /interview-templates, template check of POST)
    subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", "interviews.catalog", "-k", TENANT,
                    "-X", "partitioner=murmur2_random"], input=json.dumps(CATALOG), text=True, check=True)
    R = {}
    sink = Proc("sink", [BIN["sink"], f"127.0.0.1:{P_SINK}"], CPU_LOAD)
    try:
        wait_until(lambda: port_open(P_SINK), 10, "sink")
        if "gateway" in only:
            bench_gateway(cfg, R)
        if "gateway" in only or "rss256" in only:
            bench_gateway_rss_fresh(cfg, R)
        if "worker" in only:
            bench_worker(cfg, R)
        if "limits" in only:
            bench_limits(cfg, R)
        if "profile" in only:
            try:
                bench_profiles(cfg, R)
            except Exception as e:  # a profile is a bonus: never lose the measurements for it
                say(f"profiles failed: {e}")
    finally:
        sink.stop()
        with open(os.path.join(WORK, "results.txt"), "w") as f:
            for k, v in R.items():
                f.write(f"{k!r}: {v}\n")
        import pickle
        with open(os.path.join(WORK, "results.pickle"), "wb") as f:
            pickle.dump({"R": R, "meta": meta, "quick": cfg.quick, "log": LOG}, f)
        say(f"raw results: {WORK}/results.pickle (bench.py --report-from it rewrites the report)")
    if only >= {"gateway", "worker", "limits"}:
        write_report(cfg, R, a.out, meta)
        say(f"wrote {a.out}")
    else:
        for k, v in R.items():
            print(k, v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
