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
