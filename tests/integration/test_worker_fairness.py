"""results-worker promises held on real Kafka with the callback simulator.

HeldRetriesTest: 3,000 retry records for a dead host, due three hours ahead, on one partition
(more than WORKER_MAX_PENDING) do not stop that partition: a fresh event on it is delivered at
once, and a fresh event whose first attempt fails (503) is retried and delivered within seconds
(its retry record sits behind the 3,000 on the retry partition).

OrderingTest: two pending-type updates, and two finished ones, published newest first: the
older of each pair is never delivered after the newer (it is superseded).

CommitTest: the receiver holds the PUT open past the auto-commit interval; the worker is killed
with SIGKILL and started again: the event is PUT again (its offset was not stored while the PUT
was open).

SlowDnsTest: the worker resolves callback names through a DNS server that answers one name
after 5 s (the worker runs in its own mount namespace, /etc/resolv.conf bind-mounted to name
that server; needs root, skipped otherwise): deliveries to another name, and to a literal
address, go on at once; the slow name is delivered after its answer.

Figures are printed."""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import StackTestCase, await_true, murmur2_partition
from worker_util import (ledger, metric, quiet_port, requested_event, rfc3339, sim_ts,
                         status_event, version_of)


def _figure(key, value):
    print(f"\n  figure {key}: {json.dumps(value)}", flush=True)


class HeldRetriesTest(StackTestCase):
    with_gateway = False
    HELD = 3000
    PART = 0
    worker_env = {"RETRY_SCHEDULE": "0s,300ms", "RETRY_MAX_AGE": "24h",
                  "CALLBACK_TIMEOUT": "5s", "BREAKER_THRESHOLD": "1000",
                  "WORKER_MAX_PENDING": "2000"}

    def retry_record(self, iid, url, due_ms, now_ms):
        ev = {"interview_id": iid, "status": "completed", "occurred_at": rfc3339(now_ms),
              "results_url": f"https://provider.example/r/{iid}/1",
              "interview": {"score": 78, "grade": "passed"}}
        return {"interview_id": iid, "tenant": self.stack.tenant_b["id"], "callback_url": url,
                "event": ev, "status": "completed", "occurred_at": rfc3339(now_ms),
                "attempts": 1, "due_at": rfc3339(due_ms), "first_attempt_at": rfc3339(now_ms),
                "history": [{"at": rfc3339(now_ms), "attempt": 1, "error": "connect refused"}],
                "source": {"topic": self.stack.topics["status"], "partition": self.PART,
                           "offset": 0}}

    def fresh(self, prefix, responses):
        s = self.stack
        # An interview of partition PART (murmur2, like the gateway's): its status event is
        # handled there and its retry record sits behind the held ones.
        iid = s.unique(prefix)
        while murmur2_partition(iid, 6) != self.PART:
            iid = s.unique(prefix)
        path = f"/fair/{iid}"
        s.sim.script(path, responses, then={"status": 200})
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)))
        return iid, path

    def test_held_retries_do_not_block_the_partition(self):
        s = self.stack
        dead = f"http://127.0.0.1:{quiet_port()}/dead"
        now = int(time.time() * 1000)
        due = now + 3 * 3600 * 1000
        records = []
        for i in range(self.HELD):
            iid = s.unique("held")
            records.append((iid, self.retry_record(iid, f"{dead}/{iid}", due, now)))
        s.kcat.produce_bulk(s.topics["retry"], records, partition=self.PART)
        # Both builds hold at least WORKER_MAX_PENDING of them before anything else comes.
        await_true(lambda: metric(s, "ib_worker_retry_backlog") >= 2000, 60,
                   "2,000 retry records held")

        ok_iid, ok_path = self.fresh("fresh", [])
        retry_iid, retry_path = self.fresh("short", [{"status": 503, "body": "busy"}])
        t0 = time.time()
        for iid, path in ((ok_iid, ok_path), (retry_iid, retry_path)):
            s.kcat.produce(s.topics["status"], iid,
                           status_event(iid, "completed", int(time.time() * 1000), 1),
                           partition=self.PART)
        got = s.sim.wait(1, timeout=30, path=ok_path)
        fresh_s = sim_ts(got[0]) - t0
        self.assertEqual(got[0]["answered"], 200, got)
        got = await_true(lambda: [r for r in s.sim.requests(retry_path) if r["answered"] == 200],
                         30, "the short retry delivered behind 3,000 held records")
        retry_s = sim_ts(got[0]) - t0
        self.assertLess(fresh_s, 10, "fresh event")
        self.assertLess(retry_s, 10, "short retry")
        backlog = metric(s, "ib_worker_retry_backlog")
        self.assertGreaterEqual(backlog, self.HELD, "every held record read")
        self.assertEqual(s.sim.requests("/dead"), [])
        _figure("held_retries", {"held": self.HELD, "retry_backlog": backlog,
                                 "fresh_delivered_s": round(fresh_s, 2),
                                 "short_retry_delivered_s": round(retry_s, 2)})


class OrderingTest(StackTestCase):
    with_gateway = False
    worker_env = {"RETRY_SCHEDULE": "0s,300ms", "CALLBACK_TIMEOUT": "5s"}

    def pair(self, older, newer):
        """Publishes newer then older for a fresh interview; returns the simulator's records
        once the older was superseded or delivered."""
        s = self.stack
        iid = s.unique("ord")
        path = f"/ord/{iid}"
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)))
        base = int(time.time() * 1000) - 60_000
        states = {1: (older, base + 1000), 2: (newer, base + 2000)}
        before = metric(s, "ib_worker_superseded_total")
        s.kcat.produce(s.topics["status"], iid, status_event(iid, newer, base + 2000, 2))
        s.kcat.produce(s.topics["status"], iid, status_event(iid, older, base + 1000, 1))
        await_true(lambda: [r for r in s.sim.requests(path) if version_of(r["body"]) == 2], 30,
                   "the newer state delivered")
        await_true(lambda: metric(s, "ib_worker_superseded_total") > before or
                   any(version_of(r["body"]) == 1 for r in s.sim.requests(path)), 30,
                   "the older state superseded (or sent)")
        seq, regressions, _ = ledger(s.sim.requests(path), {iid: states})
        return seq[iid], regressions

    def test_pending_pair_out_of_order(self):
        """Pending is served on GET, never PUT: two pending states out of order send nothing;
        a later completed (the marker) is sent, and nothing older follows it."""
        s = self.stack
        iid = s.unique("ordp")
        path = f"/ord/{iid}"
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)))
        base = int(time.time() * 1000) - 60_000
        states = {1: ("pending", base + 1000), 2: ("pending", base + 2000),
                  3: ("completed", base + 3000)}
        for v in (2, 1, 3):
            s.kcat.produce(s.topics["status"], iid, status_event(iid, states[v][0],
                                                                 states[v][1], v))
        await_true(lambda: [r for r in s.sim.requests(path) if version_of(r["body"]) == 3], 30,
                   "the completed marker delivered")
        seq, regressions, _ = ledger(s.sim.requests(path), {iid: states})
        self.assertEqual(regressions, [])
        self.assertEqual(seq[iid], [3])

    def test_finished_pair_out_of_order(self):
        """Two completed results (a later completed may update the result), newer first: the
        older is superseded, never sent after the newer."""
        seq, regressions = self.pair("completed", "completed")
        self.assertEqual(regressions, [])
        self.assertEqual(seq, [2])


class CommitTest(StackTestCase):
    with_gateway = False
    COMMIT_INTERVAL_S = 1.0  # the consumer's auto.commit.interval.ms
    worker_env = {"RETRY_SCHEDULE": "0s,300ms", "CALLBACK_TIMEOUT": "20s",
                  "KAFKA_SESSION_TIMEOUT_MS": "6000", "SHUTDOWN_GRACE": "1s"}

    def test_put_open_past_commit_then_kill(self):
        s = self.stack
        iid = s.unique("cm")
        path = f"/cm/{iid}"
        s.sim.script(path, [{"mode": "hang", "hang_ms": 15000}], then={"status": 200})
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)))
        s.kcat.produce(s.topics["status"], iid,
                       status_event(iid, "completed", int(time.time() * 1000), 1))
        first = s.sim.wait(1, timeout=30, path=path)[0]
        # The PUT stays open while the auto-commit interval passes three times: what is under
        # test is that no commit in that time covers the event's offset.
        time.sleep(3 * self.COMMIT_INTERVAL_S)
        s.worker.stop(signal.SIGKILL, 10)
        s.start_worker()
        got = await_true(lambda: [r for r in s.sim.requests(path) if r["answered"] == 200], 60,
                         "the event PUT again after the restart")
        self.assertEqual(first["answered"], "hang")
        self.assertEqual(version_of(got[0]["body"]), 1)
        _figure("put_open_kill", {"held_open_s": 3 * self.COMMIT_INTERVAL_S,
                                  "second_put_after_s": round(sim_ts(got[0]) - sim_ts(first), 1)})


class SlowDns:
    """A UDP DNS server on ip:53: A records of names to 127.0.0.1, delay_s late for the names
    in slow; no AAAA records; NXDOMAIN for anything else."""

    def __init__(self, ip, names, slow, delay_s):
        self.names, self.slow, self.delay_s = set(names), set(slow), delay_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 53))
        self.asked = []
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, q, addr):
        qid, _, qd = struct.unpack(">HHH", q[:6])
        pos, labels = 12, []
        while q[pos]:
            labels.append(q[pos + 1:pos + 1 + q[pos]].decode("ascii", "replace").lower())
            pos += 1 + q[pos]
        qtype = struct.unpack(">H", q[pos + 1:pos + 3])[0]
        question = q[12:pos + 5]
        name = ".".join(labels)
        self.asked.append((name, qtype, time.time()))
        known = name in self.names
        answers = b""
        if known and qtype == 1:
            answers = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        flags = 0x8180 if known else 0x8183
        reply = struct.pack(">HHHHHH", qid, flags, 1, 1 if answers else 0, 0, 0) + question + \
            answers
        if name in self.slow:
            threading.Timer(self.delay_s, self._send, (reply, addr)).start()
        else:
            self._send(reply, addr)

    def _send(self, reply, addr):
        if not self.stopped:
            self.sock.sendto(reply, addr)

    def _serve(self):
        while not self.stopped:
            try:
                q, addr = self.sock.recvfrom(512)
                self._answer(q, addr)
            except OSError:
                return
            except (IndexError, struct.error):
                continue

    def stop(self):
        self.stopped = True
        self.sock.close()


class SlowDnsTest(StackTestCase):
    with_gateway = False
    DNS_IP = "127.0.0.153"
    DELAY_S = 5.0
    callback_hosts = ["127.0.0.1", "fast.ib-test", "slow.ib-test"]
    callback_ports = [443, "sim"]  # plain http to the simulator on a name, not on loopback
    worker_env = {"RETRY_SCHEDULE": "0s,300ms", "CALLBACK_TIMEOUT": "20s"}

    @classmethod
    def setUpClass(cls):
        cls.stack = None
        cls.dns = None
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise unittest.SkipTest("needs root and unshare(1) to give the worker its own "
                                    "/etc/resolv.conf")
        cls.tmp = tempfile.mkdtemp(prefix="ib-dns-")
        conf = os.path.join(cls.tmp, "resolv.conf")
        with open(conf, "w", encoding="ascii") as f:
            f.write(f"nameserver {cls.DNS_IP}\noptions timeout:15 attempts:1\n")
        worker = os.environ.get("IB_WORKER_BIN")
        wrapper = os.path.join(cls.tmp, "results-worker")
        with open(wrapper, "w", encoding="ascii") as f:
            # Same process all along (unshare and sh exec): the harness's pid is the worker's.
            f.write("#!/bin/sh\n"
                    f"exec unshare -m sh -c 'mount --bind {conf} /etc/resolv.conf && "
                    f"exec {worker}'\n")
        os.chmod(wrapper, 0o755)
        probe = subprocess.run(["unshare", "-m", "sh", "-c",
                                f"mount --bind {conf} /etc/resolv.conf"], capture_output=True)
        if probe.returncode != 0:
            raise unittest.SkipTest("cannot bind-mount /etc/resolv.conf in a mount namespace: " +
                                    probe.stderr.decode()[-200:])
        cls.dns = SlowDns(cls.DNS_IP, ["fast.ib-test", "slow.ib-test"], ["slow.ib-test"],
                          cls.DELAY_S)
        os.environ["IB_WORKER_BIN"] = wrapper
        try:
            super().setUpClass()
        finally:
            os.environ["IB_WORKER_BIN"] = worker

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls.dns is not None:
            cls.dns.stop()
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)

    def publish(self, host, prefix):
        s = self.stack
        iid = s.unique(prefix)
        path = f"/dns/{iid}"
        url = f"http://{host}:{s.sim.port}{path}"
        s.kcat.produce(s.topics["requested"], iid, requested_event(s.tenant_a, iid, url))
        s.kcat.produce(s.topics["status"], iid,
                       status_event(iid, "completed", int(time.time() * 1000), 1))
        return path

    def test_slow_name_stalls_nothing_else(self):
        s = self.stack
        t0 = time.time()
        slow = self.publish("slow.ib-test", "slow")
        await_true(lambda: any(a[0] == "slow.ib-test" for a in self.dns.asked), 30,
                   "the worker to ask for the slow name")
        t1 = time.time()
        fast = [self.publish("fast.ib-test", "fast") for _ in range(3)]
        literal = self.publish("127.0.0.1", "lit")
        times = {}
        for path in fast + [literal]:
            got = s.sim.wait(1, timeout=30, path=path)
            times[path] = sim_ts(got[0]) - t1
            self.assertEqual(got[0]["answered"], 200)
        got = s.sim.wait(1, timeout=60, path=slow)
        slow_s = sim_ts(got[0]) - t0
        worst = max(times.values())
        # Everything else was delivered while the slow name's answer was still on its way.
        self.assertLess(worst, self.DELAY_S - 2, times)
        self.assertGreaterEqual(slow_s, self.DELAY_S - 0.5)
        _figure("slow_dns", {"dns_delay_s": self.DELAY_S, "others_worst_s": round(worst, 2),
                             "slow_name_delivered_s": round(slow_s, 2)})


if __name__ == "__main__":
    unittest.main()
