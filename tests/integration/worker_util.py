"""Helpers shared by the results-worker integration tests (test_worker_*.py)."""

import datetime
import os
import random
import re
import socket
import subprocess
import sys

from harness import REPO_ROOT, SIM, await_true, http_request


def rfc3339(epoch_ms):
    t = datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (epoch_ms % 1000)


def requested_event(tenant, iid, url):
    """An interviews.requested event as the gateway writes it (only what the worker reads
    matters: interview_id, tenant, callback_url)."""
    return {"interview_id": iid, "tenant": tenant["id"], "interview_template_id": "12345",
            "job_title": "Operations Manager", "callback_url": url,
            "candidate": {"first_name": "Lakita", "last_name": "Marrero",
                          "email": "lakita@example.com"},
            "requested_at": "2026-11-28T19:00:00Z"}


def status_event(iid, status, occurred_ms, version=None):
    """A status event; version (an int) is carried in results_url so the receiver can tell
    which state it got."""
    ev = {"interview_id": iid, "status": status, "occurred_at": rfc3339(occurred_ms)}
    if version is not None:
        ev["results_url"] = f"https://provider.example/r/{iid}/{version}"
    if status == "completed":
        ev["interview"] = {"score": 70 + (version or 0) % 30, "grade": "passed"}
    return ev


def version_of(body):
    if not isinstance(body, dict):
        return None
    m = re.search(r"/(\d+)$", body.get("results_url") or "")
    return int(m.group(1)) if m else None


def metric(stack, name, labels=None):
    """Sum of the worker's series of name (optionally only those whose labels contain labels)."""
    r = http_request(stack.worker.base, "GET", "/metrics", timeout=5)
    total = 0.0
    for line in r.body.decode().splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if not (head == name or head.startswith(name + "{")):
            continue
        if labels and not all(f'{k}="{v}"' in head for k, v in labels.items()):
            continue
        total += float(value)
    return total


def await_metric(stack, name, at_least, timeout=30, labels=None):
    return await_true(lambda: metric(stack, name, labels) >= at_least, timeout,
                      f"{name}{labels or ''} >= {at_least}", interval=0.2)


def dlq_script(stack, *args, timeout=120):
    env = dict(os.environ)
    env.update({"KAFKA_BOOTSTRAP_SERVERS": stack.broker.bootstrap,
                "TOPIC_DLQ": stack.topics["dlq"], "TOPIC_STATUS": stack.topics["status"]})
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "scripts", "dlq"), *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


class SimAt:
    """The callback simulator on a chosen port (a host that comes back)."""

    def __init__(self, port, log_path):
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, SIM, "--listen", f"127.0.0.1:{port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            try:
                return http_request(self.base, "GET", "/_sim/healthz", timeout=2).status == 200
            except OSError:
                return False
        await_true(up, 15, "callback sim to listen")

    def requests(self, path=None):
        q = "?path=" + path if path else ""
        return http_request(self.base, "GET", "/_sim/requests" + q).json()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def quiet_port():
    """A free loopback port below the kernel's ephemeral range (32768+), so that no outgoing
    connection of any process takes it while a test waits to listen on it later."""
    for _ in range(200):
        port = random.randrange(20000, 30000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sk:
            try:
                sk.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000..29999")


# -- helpers of the fault and hostile-input tests (test_worker_faults.py, test_hostile_kafka.py) --

TERMINAL = ("completed", "declined", "expired")
STATUS_ORDER = {"pending": 0, "completed": 1, "declined": 2, "expired": 3}


def supersedes(cur, nxt):
    """The worker's lifecycle rule (ib_status_compare): nxt = (status, ms) replaces cur. A
    terminal status beats pending; a finished interview does not become another finished state;
    otherwise the later occurred_at."""
    if cur[0] in TERMINAL and nxt[0] in TERMINAL and cur[0] != nxt[0]:
        return False
    if (cur[0] in TERMINAL) != (nxt[0] in TERMINAL):
        return nxt[0] in TERMINAL
    return nxt[1] > cur[1]


def sim_ts(entry):
    """A simulator record's "ts" (RFC 3339 UTC, milliseconds) as epoch seconds."""
    t = datetime.datetime.strptime(entry["ts"][:23], "%Y-%m-%dT%H:%M:%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def rss_kib(pid):
    """Resident set size of a process (VmRSS, KiB), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def ledger(requests, states):
    """What a receiver saw. requests: simulator records whose body carries a version
    (status_event(..., version)); states: iid -> {version: (status, ms)}, the iid being the
    last path segment. Returns (ok_sequence iid -> [versions answered 2xx, in order],
    regressions [(iid, sequence)], duplicate 2xx PUTs)."""
    seq = {}
    for r in sorted(requests, key=lambda x: x["seq"]):
        if not (isinstance(r["answered"], int) and 200 <= r["answered"] < 300):
            continue
        iid = r["path"].rsplit("/", 1)[1]
        if iid not in states:
            continue
        seq.setdefault(iid, []).append(version_of(r["body"]))
    regressions = []
    for iid, vs in seq.items():
        st = states[iid]
        if any(supersedes(st[vs[b]], st[vs[a]]) for a in range(len(vs))
               for b in range(a + 1, len(vs))):
            regressions.append((iid, vs))
    dups = sum(len(vs) - len(set(vs)) for vs in seq.values())
    return seq, regressions, dups


def final_versions(states):
    """iid -> the version of its newest state (the one that must be delivered last)."""
    out = {}
    for iid, st in states.items():
        best = None
        for v, x in st.items():
            if best is None or supersedes(st[best], x):
                best = v
        out[iid] = best
    return out
