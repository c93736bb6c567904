"""The load generators: wrk (saturation), vegeta (constant rate, open model), bench/ibload
(Kafka topics, bulk and constant-rate requested/status events)."""

import base64
import json
import os
import re
import subprocess

from . import config
from .procs import run
from .stats import percentile


def wrk(url, conns, secs, script, env_extra, cpu=config.CPU_LOAD):
    """wrk -t1; returns dict(rps, requests, non2xx, errors, p50/p99/p999 ms, wrk_cpu: seconds of
    wrk's own CPU from its rusage). script prints the BENCH lines (bench/lua)."""
    env = dict(os.environ, **env_extra)
    argv = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
            "-s", script, url]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = p.stdout.read()
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    b = dict(re.findall(r"(\w+)=(\d+)", " ".join(l for l in out.splitlines() if l.startswith("BENCH"))))
    if p.returncode != 0 or not m or not b:
        raise RuntimeError(f"wrk {url} -c{conns} failed (exit {p.returncode}): {out}")
    req = int(b["requests"])
    return {"rps": float(m.group(1)), "requests": req, "non2xx": int(b["errors_status"]),
            "errors": int(b["errors_connect"]) + int(b["errors_timeout"]),
            "p50": int(b["p50_us"]) / 1000, "p99": int(b["p99_us"]) / 1000,
            "p999": int(b["p999_us"]) / 1000, "wrk_cpu": ru.ru_utime + ru.ru_stime}


def post_body(sink_url, tag):
    """Body maker for request i: the contract's example with a callback_url of its own."""
    def f(i):
        b = dict(config.POST_BODY, callback_url=f"{sink_url}/interviews/{tag}-{i}")
        return json.dumps(b, separators=(",", ":"))
    return f


def vegeta_targets(path, method, url, n, body_fn=None):
    with open(path, "w") as f:
        for i in range(n):
            t = {"method": method, "url": url,
                 "header": {"Authorization": [f"Bearer {config.TOKEN}"],
                            "Content-Type": ["application/json"]}}
            if body_fn:
                t["body"] = base64.b64encode(body_fn(i).encode()).decode()
            f.write(json.dumps(t) + "\n")


def vegeta(vegeta_bin, targets, rate, secs, results_path):
    """Constant-rate open-model load (vegeta attack); latencies (ms) from its results."""
    env = dict(os.environ, GOMAXPROCS="1")
    with open(results_path, "wb") as out:
        p = subprocess.run(["taskset", "-c", config.CPU_LOAD, vegeta_bin, "attack", "-format=json",
                            f"-targets={targets}", f"-rate={int(rate)}/s", f"-duration={secs}s",
                            "-timeout=10s", "-keepalive=true", "-max-connections=256"],
                           stdout=out, stderr=subprocess.PIPE, env=env, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"vegeta attack exited {p.returncode}: {p.stderr[-2000:]}")
    enc = run([vegeta_bin, "encode", "--to", "csv", results_path]).stdout
    lat, ok, n = [], 0, 0
    for line in enc.splitlines():
        parts = line.split(",")
        if len(parts) < 3:
            continue
        n += 1
        code, ns = int(parts[1]), int(parts[2])
        lat.append(ns / 1e6)
        ok += 200 <= code < 300
    if n == 0:
        raise RuntimeError(f"vegeta at {rate}/s for {secs}s: no results")
    lat.sort()
    return {"n": n, "ok": ok, "p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99),
            "p999": percentile(lat, 0.999), "max": lat[-1]}


class Ibload:
    """bench/ibload (peers/cmd/ibload): topic creation; requested and status events in bulk or at
    a constant rate."""

    def __init__(self, binary, brokers, sink_url):
        self.binary, self.brokers, self.sink_url = binary, brokers, sink_url

    def create(self, *specs):
        """specs: "name:partitions[:cleanup.policy]"."""
        run([self.binary, "topics", "-brokers", self.brokers, *specs])

    def topics(self, tag):
        """A fresh set of the worker's topics, named after tag."""
        t = {k: f"bench.{tag}.{k}"
             for k in ("requested", "status", "retry", "dlq", "catalog", "repartition", "state")}
        self.create(f"{t['requested']}:6", f"{t['status']}:6", f"{t['retry']}:6", f"{t['dlq']}:3",
                    f"{t['catalog']}:3", f"{t['repartition']}:6", f"{t['state']}:6:compact")
        return t

    def load(self, mode, topic, n, prefix, rate=0, start=0, warmup=0):
        """mode: requested | status | state; n records of interviews prefix+start.., at rate/s (0: bulk);
        the first `warmup` status events are delivered but carry no latency sample."""
        argv = [self.binary, mode, "-brokers", self.brokers, "-topic", topic, "-n", str(n),
                "-from", str(start), "-prefix", prefix, "-tenant", config.TENANT, "-sink", self.sink_url]
        if rate:
            argv += ["-rate", str(rate)]
        if warmup:
            argv += ["-warmup", str(warmup)]
        return run(["taskset", "-c", config.CPU_LOAD] + argv).stdout.strip()
