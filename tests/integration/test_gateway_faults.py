"""api-gateway under faults with a real Kafka: broker loss and gateway kill -9.

The class runs its own broker (scripts/kafka on a port and data directory of its own), so
killing it disturbs no other test:

1. broker killed (SIGKILL) and restarted on the same data during a load run of concurrent
   POST /interviews: every interview_id answered 201 has its interviews.requested event; the
   503s are counted (each the contract's body with Retry-After); the recovery time (broker
   back -> first 201) is measured;
2. gateway kill -9 under load: every 201 received before the kill has its event.

Figures are printed. Waiting is on events (a condition variable fed by the load threads, the
broker's port, the topic) against deadlines, never on fixed sleeps.
"""

import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import KafkaBroker, Stack, await_true, free_port, http_request, patience

CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
THREADS = 8


def port_pair_free():
    """A port p with p + 1000 (the KRaft controller's, scripts/kafka) free as well."""
    for _ in range(50):
        p = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1000))
            except OSError:
                continue
        return p
    raise RuntimeError("no free port pair")


class OwnBroker(KafkaBroker):
    """A dedicated broker: started by scripts/kafka, killed and restarted on its data by us."""

    def __init__(self):
        super().__init__()
        self.external = None
        self.port = port_pair_free()
        self.data_dir = tempfile.mkdtemp(prefix="ib-it-faults-kafka-")
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.argv = None
        self.proc = None

    def start_fresh(self):
        r = self._script("start")
        if r.returncode != 0:
            raise RuntimeError(f"scripts/kafka start failed:\n{r.stdout}\n{r.stderr}")
        with open(f"/proc/{self.pid()}/cmdline", "rb") as f:
            self.argv = [a.decode() for a in f.read().split(b"\0") if a]

    def kill(self):
        """SIGKILL (a crash: nothing flushed, nothing handed over); returns once it is gone."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)

        def gone():
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                    return f.read().split()[2] == "Z"
            except OSError:
                return True
        await_true(gone, 20, "the broker to die")

    def restart(self):
        """The same JVM command line on the same data directory (scripts/kafka start would
        reformat it); returns once the broker answers metadata."""
        log = open(os.path.join(self.data_dir, "kafka-restart.log"), "ab")
        proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.proc = proc
        with open(os.path.join(self.data_dir, "kafka.pid"), "w", encoding="ascii") as f:
            f.write(str(proc.pid))

        def answers():
            if proc.poll() is not None:
                raise AssertionError("the restarted broker exited")
            return subprocess.run(["kcat", "-b", self.bootstrap, "-L", "-m", "2"],
                                  capture_output=True).returncode == 0
        await_true(answers, 90, "the restarted broker to answer metadata", interval=0.1)


class Load:
    """THREADS clients POSTing unique interviews until stopped (bounded by count and time; the
    bounds only guard against a test that never stops it: the load must outlast every wait of
    the test, however slow the machine, or a wait would see the load end instead of the
    event)."""

    def __init__(self, stack, base, max_per_thread=20000, max_seconds=1800):
        self.stack = stack
        self.base = base
        self.results = []  # (t_sent, t_done, status or error name, interview_id or None, body)
        self.cv = threading.Condition()
        self.stopped = threading.Event()
        self.deadline = time.monotonic() + max_seconds
        self.max_per_thread = max_per_thread
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True)
                        for k in range(THREADS)]

    def run(self, k):
        s = self.stack
        auth = {"Authorization": f"Bearer {s.tenant_a['token']}"}
        for i in range(self.max_per_thread):
            if self.stopped.is_set() or time.monotonic() > self.deadline:
                break
            body = s.interview_body(f"/interviews/load-{s.run_id}-{id(self)}-{k}-{i}")
            t0 = time.monotonic()
            try:
                r = http_request(self.base, "POST", "/interviews", body, auth, timeout=30)
                status, doc = r.status, (r.json() if r.body else None)
                retry_after = r.headers.get("Retry-After")
            except (OSError, ValueError) as exc:
                status, doc, retry_after = type(exc).__name__, None, None
            iid = doc.get("interview_id") if status == 201 and isinstance(doc, dict) else None
            with self.cv:
                self.results.append((t0, time.monotonic(), status, iid, doc, retry_after))
                self.cv.notify_all()
            if not isinstance(status, int):
                break  # the gateway is gone (kill -9): this client stops

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def wait_for(self, pred, timeout, what):
        timeout = patience(timeout)
        with self.cv:
            if not self.cv.wait_for(lambda: pred(self.results), timeout):
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"{collections.Counter(r[2] for r in self.results)}")

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(60)
        with self.cv:
            return list(self.results)


def count(results, status, after=None):
    return sum(1 for r in results if r[2] == status and (after is None or r[1] >= after))


class GatewayFaultsTest(unittest.TestCase):
    broker = None
    stack = None

    @classmethod
    def setUpClass(cls):
        cls.broker = OwnBroker()
        try:
            cls.broker.start_fresh()
            saved, harness._BROKER = harness._BROKER, cls.broker  # the Stack uses this broker
            try:
                cls.stack = Stack(cls.__name__, with_worker=False,
                                  gateway_env={"GATEWAY_PRODUCE_TIMEOUT": "3s"})
            finally:
                harness._BROKER = saved
            cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
            cls.stack.await_templates(cls.stack.tenant_a, CATALOG)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.stack is not None:
            cls.stack.close()
        if cls.broker is not None:
            cls.broker.stop()  # scripts/kafka stop: kills the pid in kafka.pid, deletes the data

    def events(self):
        """Keys of interviews.requested (the topic read from the beginning to its end)."""
        return {m["key"] for m in self.stack.requested_events()}

    def report(self, text):
        sys.stderr.write(f"\n[gateway faults] {text}\n")

    def assert_all_created_have_events(self, results, what):
        created = {r[3] for r in results if r[2] == 201}
        self.assertTrue(all(created), "a 201 without an interview_id")
        # The events are on Kafka before the 201 (acks=all): read once, no waiting needed.
        keys = self.events()
        lost = sorted(created - keys)
        self.assertEqual(lost, [], f"{what}: {len(lost)} interview(s) answered 201 have no "
                                   f"interviews.requested event")
        return created, keys

    def test_1_broker_killed_and_restarted_under_load(self):
        s = self.stack
        load = Load(s, s.gateway.base).start()
        try:
            load.wait_for(lambda rs: count(rs, 201) >= 100, 30, "100 creations before the fault")
            t_kill = time.monotonic()
            self.broker.kill()
            load.wait_for(lambda rs: count(rs, 503, t_kill) >= THREADS, 60,
                          "503s while the broker is down")
            t_restart = time.monotonic()
            self.broker.restart()
            t_up = time.monotonic()
            load.wait_for(lambda rs: count(rs, 201, t_up) >= 1, 60, "a 201 after the restart")
            with load.cv:
                first = min(r[1] for r in load.results if r[2] == 201 and r[1] >= t_up)
            load.wait_for(lambda rs: count(rs, 201, first) >= 100, 60,
                          "100 creations after recovery")
        finally:
            results = load.stop()
        statuses = collections.Counter(r[2] for r in results)
        self.assertEqual(set(statuses) - {201, 503}, set(), f"only 201 and 503: {statuses}")
        for r in results:
            if r[2] == 503:
                self.assertEqual(r[4], {"status": 503, "message": "Kafka unavailable"}, r)
                self.assertEqual(r[5], "5", r)
        created, keys = self.assert_all_created_have_events(results, "broker killed")
        self.report(
            f"broker SIGKILL + restart under {THREADS}-thread load: {len(results)} POSTs, "
            f"{statuses[201]} x 201 (all {len(created)} ids found in interviews.requested, "
            f"events lost: 0), {statuses[503]} x 503 'Kafka unavailable'; broker down "
            f"{t_up - t_kill:.1f} s (restart took {t_up - t_restart:.1f} s); recovery (broker "
            f"answering metadata -> first 201): {first - t_up:.2f} s; kill -> first 201: "
            f"{first - t_kill:.1f} s")

    def test_2_gateway_kill_9_under_load(self):
        s = self.stack
        svc = s.spawn_gateway(name="api-gateway-kill9")
        load = Load(s, svc.base).start()
        try:
            load.wait_for(lambda rs: count(rs, 201) >= 200, 60, "200 creations before the kill")
            with load.cv:
                before = count(load.results, 201)
            svc.proc.send_signal(signal.SIGKILL)
            svc.proc.wait(patience(10))
            t_kill = time.monotonic()
        finally:
            results = load.stop()
            with contextlib.suppress(Exception):
                svc.stop(signal.SIGKILL, 5)
        statuses = collections.Counter(r[2] for r in results)
        # Answers completed before the kill: 201 only (the broker is healthy).
        self.assertEqual({r[2] for r in results if r[1] < t_kill and isinstance(r[2], int)},
                         {201}, statuses)
        created, keys = self.assert_all_created_have_events(results, "gateway kill -9")
        errors = sum(v for k, v in statuses.items() if not isinstance(k, int))
        self.report(
            f"gateway kill -9 under {THREADS}-thread load: {statuses[201]} x 201 received "
            f"({before} before the signal was sent), every one with its event (events lost: 0); "
            f"{errors} request(s) cut by the kill (connection errors: "
            f"{ {k: v for k, v in statuses.items() if not isinstance(k, int)} })")


if __name__ == "__main__":
    unittest.main()
