"""results-worker under faults, on real Kafka with the callback simulator.

CallbackFaultsTest: a receiver that hangs, resets, answers 5xx, 503/429 with Retry-After (seconds
and HTTP-date), 410, trickles its answer byte by byte, or sends a huge body. Each fault ends as
the worker documents it (README "Retries", docs/DEAD-LETTERS.md): transient faults are retried
until the receiver answers 2xx, a Retry-After is honoured (no attempt before it), 410 is a dead
letter at once, a trickle is cut at CALLBACK_TIMEOUT, a huge 2xx body counts as delivered
without reading it (64 KiB cap; the worker's peak RSS stays bounded).

WorkerKillTest: kill -9 of the worker at chosen points (PUT in flight at the receiver, right
after a 2xx before the offset commit, right after a 5xx while the retry record is produced) and
at random points of a run with random receiver failures: every final state delivered, none
regressed, duplicates counted.

BrokerRestartTest: a dedicated broker stopped (data kept) while deliveries are in progress and
started again: deliveries go on while it is away, every final state is delivered after it is
back, none regressed, duplicates counted.

Figures are printed (and stored as faults-figures.json in each class's artifacts directory)."""

import email.utils
import json
import os
import random
import signal
import tempfile
import time
import unittest

from harness import KafkaBroker, StackTestCase, await_true, free_port
from worker_util import (final_versions, ledger, metric, requested_event, rss_kib, sim_ts,
                         status_event, version_of)


def _figures(case, key, value):
    figs = type(case).__dict__.get("figures")
    if figs is None:
        figs = {}
        type(case).figures = figs
    figs[key] = value
    print(f"\n  figure {key}: {json.dumps(value)}", flush=True)


def _store_figures(cls):
    figs = cls.__dict__.get("figures")
    if cls.stack is not None and figs:
        with open(os.path.join(cls.stack.dir, "faults-figures.json"), "w", encoding="utf-8") as f:
            json.dump(figs, f, indent=2)


class _Base(StackTestCase):
    with_gateway = False

    @classmethod
    def tearDownClass(cls):
        _store_figures(cls)
        super().tearDownClass()

    def interview(self, prefix="f"):
        s = self.stack
        iid = s.unique(prefix)
        path = f"/f/{iid}"
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)))
        return iid, path

    def publish(self, ev):
        self.stack.kcat.produce(self.stack.topics["status"], ev["interview_id"], ev)

    def dead_letters(self, iid):
        return [m for m in self.stack.kcat.consume_all(self.stack.topics["dlq"]) if m["key"] == iid]


class CallbackFaultsTest(_Base):
    # Breaker threshold high: every path shares the simulator's host, and these faults must
    # reach the receiver, not be deferred by an open breaker.
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,400ms", "RETRY_MAX_AGE": "60s",
                  "CALLBACK_TIMEOUT": "2s", "BREAKER_THRESHOLD": "100"}
    TIMEOUT_S = 2.0
    # How late an attempt may come after the moment it is due (a timeout, a Retry-After): wide,
    # so a slow machine (ASan, two busy cores) passes, and still far below the timing of every
    # wrong behaviour checked here (waiting for a 30 s hang or a ~60 s trickle to end).
    LATE_S = 10.0

    def fault_then_ok(self, responses, attempts):
        """Script responses for a fresh interview, publish its completed state, wait for the
        attempts; returns (iid, path, records sorted by arrival)."""
        s = self.stack
        iid, path = self.interview()
        s.sim.script(path, responses, then={"status": 200})
        self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        got = s.sim.wait(attempts, timeout=60, path=path)
        return iid, path, sorted(got, key=sim_ts)

    def assert_delivered_once(self, iid, path, got, want_attempts):
        self.assertEqual(len(got), want_attempts, got)
        oks = [r for r in got if r["answered"] == 200]
        self.assertEqual(len(oks), 1, got)
        self.assertEqual(oks[0]["body"]["status"], "completed", oks[0])
        self.assertEqual(version_of(oks[0]["body"]), 1)
        self.assertEqual(oks[0]["headers"].get("Authorization"),
                         "Bearer " + self.stack.tenant_a["workable_token"])
        self.assertEqual(self.dead_letters(iid), [])

    def test_hang_times_out_then_delivered(self):
        iid, path, got = self.fault_then_ok([{"mode": "hang", "hang_ms": 30000}], 2)
        gap = sim_ts(got[1]) - sim_ts(got[0])
        self.assertEqual(got[0]["answered"], "hang")
        # Not before CALLBACK_TIMEOUT (the PUT is waited for), not long after it (cut at the
        # timeout: a worker waiting for the hang to end would retry after 30 s).
        self.assertGreaterEqual(gap, self.TIMEOUT_S - 0.05, got)
        self.assertLess(gap, self.TIMEOUT_S + self.LATE_S, got)
        self.assert_delivered_once(iid, path, got, 2)
        _figures(self, "hang", {"attempts": 2, "seconds_to_next_attempt": round(gap, 2)})

    def test_reset_then_delivered(self):
        iid, path, got = self.fault_then_ok([{"mode": "reset"}, {"mode": "reset"}], 3)
        self.assertEqual([r["answered"] for r in got], ["reset", "reset", 200])
        self.assert_delivered_once(iid, path, got, 3)
        _figures(self, "reset", {"resets": 2, "attempts": 3})

    def test_5xx_then_delivered(self):
        codes = [500, 502, 503, 504]
        iid, path, got = self.fault_then_ok([{"status": c, "body": "busy"} for c in codes], 5)
        self.assertEqual([r["answered"] for r in got], codes + [200])
        self.assert_delivered_once(iid, path, got, 5)
        _figures(self, "5xx", {"answers": codes, "attempts": 5})

    def test_retry_after_seconds_is_honoured(self):
        iid, path, got = self.fault_then_ok(
            [{"status": 503, "headers": {"Retry-After": "2"}}], 2)
        gap = sim_ts(got[1]) - sim_ts(got[0])
        # (ms timestamps) the schedule alone would retry after ~0.2 s
        self.assertGreaterEqual(gap, 1.99, got)
        self.assertLess(gap, 2.0 + self.LATE_S, got)
        self.assert_delivered_once(iid, path, got, 2)
        _figures(self, "503_retry_after_2s", {"seconds_to_next_attempt": round(gap, 2)})

    def test_retry_after_http_date_is_honoured(self):
        s = self.stack
        iid, path = self.interview()
        # The date is fixed when the script is posted: 4 s ahead, whole seconds (HTTP-date).
        not_before = int(time.time()) + 4
        s.sim.script(path, [{"status": 429, "headers": {
            "Retry-After": email.utils.formatdate(not_before, usegmt=True)}}])
        self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        got = sorted(s.sim.wait(2, timeout=60, path=path), key=sim_ts)
        self.assertEqual([r["answered"] for r in got], [429, 200])
        self.assertGreaterEqual(sim_ts(got[1]), not_before - 0.01,
                                f"second attempt before the Retry-After date: {got}")
        self.assertLess(sim_ts(got[1]), not_before + self.LATE_S, got)
        self.assert_delivered_once(iid, path, got, 2)
        _figures(self, "429_retry_after_date", {
            "seconds_after_date": round(sim_ts(got[1]) - not_before, 2)})

    def test_410_is_dead_lettered_at_once(self):
        s = self.stack
        iid, path = self.interview()
        s.sim.script(path, then={"status": 410, "body": {"message": "gone"}})
        self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        dl = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] == iid, timeout=30,
                                   what="dead letter of the 410")[0]["value"]
        self.assertTrue(dl["reason"].startswith("permanent callback failure: HTTP 410"), dl)
        self.assertEqual(dl["attempts"], 1, dl)
        self.assertEqual(dl["history"][0]["http_status"], 410, dl)
        self.assertIn("gone", dl["history"][0]["excerpt"], dl)
        # No retry: one request, and no retry record for it.
        self.assertEqual(len(s.sim.requests(path)), 1)
        self.assertEqual([m for m in s.kcat.consume_all(s.topics["retry"]) if m["key"] == iid], [])
        _figures(self, "410", {"attempts": 1, "reason": dl["reason"]})

    def test_trickle_is_cut_at_callback_timeout(self):
        # ~100 header bytes + 100 body bytes at 300 ms each: ~60 s for the whole answer, a 200.
        body = json.dumps({"ok": True, "pad": "x" * 80})
        iid, path, got = self.fault_then_ok(
            [{"mode": "trickle", "status": 200, "body": body, "interval_ms": 300}], 2)
        self.assertEqual(got[0]["answered"], "trickle-dropped", got)
        gap = sim_ts(got[1]) - sim_ts(got[0])
        self.assertGreaterEqual(gap, self.TIMEOUT_S - 0.05, got)
        # Cut at the timeout, not read to the end (~60 s).
        self.assertLess(gap, self.TIMEOUT_S + self.LATE_S, got)
        self.assert_delivered_once(iid, path, got, 2)
        _figures(self, "trickle", {"seconds_to_next_attempt": round(gap, 2)})

    def test_huge_body_is_not_read_and_memory_stays_bounded(self):
        s = self.stack
        pid = s.worker.proc.pid
        size = 64 * 1024 * 1024
        # A 2xx with a huge body counts (the answer is in; only the body is cut at 64 KiB), with
        # Content-Length and chunked; a huge 503 is transient and retried.
        cases = [("cl", [], {"mode": "huge", "status": 200, "size": size}),
                 ("chunked", [], {"mode": "huge", "status": 200, "size": size, "chunked": True}),
                 ("503", [{"mode": "huge", "status": 503, "size": size, "chunked": True}],
                  {"mode": "huge", "status": 200, "size": size})]
        hwm_before = _vm(pid, "VmHWM")
        ids = []
        for name, responses, then in cases:
            iid, path = self.interview("huge")
            s.sim.script(path, responses, then=then)
            ids.append((name, iid, path, 1 + len(responses)))
        for _, iid, _, _ in ids:
            self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        for name, iid, path, n in ids:
            got = sorted(s.sim.wait(n, timeout=60, path=path), key=sim_ts)
            with self.subTest(case=name):
                self.assertEqual([r["answered"] for r in got][-1], 200, got)
                self.assertEqual(len(got), n, got)
        # Settled: no further attempt (a 2xx that was taken as a failure would be retried at
        # once, RETRY_SCHEDULE 0s) and no dead letter.
        await_true(lambda: metric(s, "ib_worker_deliveries_total", {"outcome": "success"}) >=
                   len(ids), 30, "successes counted")
        for name, iid, path, n in ids:
            with self.subTest(case=name):
                self.assertEqual(len(s.sim.requests(path)), n)
                self.assertEqual(self.dead_letters(iid), [])
        # The worker stopped reading early: the simulator could hand over far less than the
        # body (socket buffers hold a few MiB), for every huge answer.
        huge = await_true(lambda: [r for _, _, p, _ in ids for r in s.sim.requests(p)
                                   if "huge_sent" in r] if all(
            "huge_sent" in r for _, _, p, _ in ids for r in s.sim.requests(p)) else None,
            60, "the simulator to finish the huge answers")
        sent = [r["huge_sent"] for r in huge]
        self.assertEqual(len(sent), 4, huge)
        self.assertTrue(all(x < 24 * 1024 * 1024 for x in sent), f"bytes sent: {sent}")
        hwm_after = _vm(pid, "VmHWM")
        growth_kib = hwm_after - hwm_before
        _figures(self, "huge_body", {"body_bytes": size, "responses": 4,
                                     "bytes_sent_before_the_worker_stopped_reading": sent,
                                     "worker_peak_rss_kib_before": hwm_before,
                                     "worker_peak_rss_kib_after": hwm_after,
                                     "rss_now_kib": rss_kib(pid)})
        # Reading one such body into memory would raise the peak by 64 MiB.
        self.assertLess(growth_kib, 16 * 1024, f"peak RSS grew by {growth_kib} KiB")


def _vm(pid, field):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


class WorkerKillTest(_Base):
    # Session timeout at the broker's minimum: a killed member leaves the group after 6 s.
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,400ms", "RETRY_MAX_AGE": "120s",
                  "CALLBACK_TIMEOUT": "5s", "BREAKER_THRESHOLD": "1000",
                  "KAFKA_SESSION_TIMEOUT_MS": "6000", "SHUTDOWN_GRACE": "1s"}

    def kill_and_restart(self):
        s = self.stack
        t = time.monotonic()
        s.worker.stop(signal.SIGKILL, 10)
        s.start_worker()
        return time.monotonic() - t

    def test_kill_at_chosen_points(self):
        """Three kill points, ten interviews each; the kill follows the awaited simulator record
        at once (tens of milliseconds, inside the one-second auto-commit interval)."""
        s = self.stack
        figures = {}
        for point, first in (("put_in_flight", {"mode": "hang", "hang_ms": 6000}),
                             ("after_2xx_before_commit", {"status": 200}),
                             ("after_503_during_retry_produce", {"status": 503})):
            ids = []
            for _ in range(10):
                iid, path = self.interview("k")
                s.sim.script(path, [first], then={"status": 200})
                ids.append((iid, path))
            for iid, _ in ids:
                self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
            # Kill as soon as the first of them reached the receiver.
            first_path = ids[0][1]
            s.sim.wait(1, timeout=60, path=first_path)
            restart_s = self.kill_and_restart()
            oks = {}
            for iid, path in ids:
                got = await_true(lambda: [r for r in s.sim.requests(path) if r["answered"] == 200],
                                 60, f"{point}: {iid} delivered after the restart")
                oks[iid] = len(got)
            with self.subTest(point=point):
                for iid, _ in ids:
                    self.assertEqual(self.dead_letters(iid), [], iid)
            figures[point] = {"interviews": len(ids), "restart_seconds": round(restart_s, 1),
                              "duplicate_2xx": sum(n - 1 for n in oks.values())}
        _figures(self, "kill_points", figures)

    def test_random_kills(self):
        s = self.stack
        rng = random.Random(int(os.environ.get("IB_FAULTS_SEED", "5")))
        n = 300
        base = int(time.time() * 1000) - 600_000
        states, events, requested = {}, [], []
        for i in range(n):
            iid = s.unique("rk")
            requested.append((iid, requested_event(s.tenant_a, iid, s.sim.url(f"/f/{iid}"))))
            k = rng.randint(1, 3)
            st = {}
            for v in range(1, k + 1):
                status = "pending" if v < k else rng.choice(("completed", "declined", "expired"))
                st[v] = (status, base + v * 1000)
            if k > 1 and rng.random() < 0.2:
                st[k + 1] = ("pending", base + (k + 1) * 1000)  # later pending: never sent
            states[iid] = st
            events += [status_event(iid, x[0], x[1], v) for v, x in st.items()]
        rng.shuffle(events)
        finals = final_versions(states)
        s.sim.script("*", then={"mode": "mix", "seed": 11, "choices": [
            {"weight": 80, "status": 200, "delay_ms": 20},
            {"weight": 8, "status": 503},
            {"weight": 4, "status": 429, "headers": {"Retry-After": "1"}},
            {"weight": 4, "mode": "reset"},
            {"weight": 4, "status": 200, "delay_ms": 300}]})
        t0 = time.monotonic()
        s.kcat.produce_bulk(s.topics["requested"], requested)
        s.kcat.produce_bulk(s.topics["status"], [(e["interview_id"], e) for e in events])
        kills = []

        def done():
            seq, _, _ = ledger(s.sim.requests(), states)
            return all(finals[i] in seq.get(i, ()) for i in finals)
        # Four kills, each once a random number of further requests reached the receiver
        # (while work is left: a kill after the last delivery proves nothing).
        for _ in range(4):
            target = len(s.sim.requests()) + rng.randint(5, 40)
            await_true(lambda: len(s.sim.requests()) >= target or done(), 120,
                       f"{target} requests at the receiver")
            if done():
                break
            kills.append({"after_requests": target,
                          "restart_seconds": round(self.kill_and_restart(), 1)})
        self.assertGreaterEqual(len(kills), 2, "the run ended before two kills")
        await_true(done, 120, f"all {n} final states delivered", interval=0.5)
        reqs = s.sim.requests()
        seq, regressions, dups = ledger(reqs, states)
        late_pending = [i for i, vs in seq.items()
                        if any(states[i][v][0] == "pending" and
                               any(states[i][w][0] != "pending" for w in vs[:j])
                               for j, v in enumerate(vs))]
        figures = {"interviews": n, "status_events": len(events), "kills": len(kills),
                   "kill_points": kills, "puts": len(reqs),
                   "puts_2xx": sum(len(v) for v in seq.values()), "duplicate_2xx": dups,
                   "regressions": len(regressions), "lost": sum(
                       1 for i in finals if finals[i] not in seq.get(i, ())),
                   "seconds": round(time.monotonic() - t0, 1)}
        _figures(self, "random_kills", figures)
        self.assertEqual(regressions[:5], [])
        self.assertEqual(late_pending[:5], [])
        for iid, vs in seq.items():
            self.assertEqual(vs[-1], finals[iid], f"{iid}: delivered {vs}")
        dls = [m for m in s.kcat.consume_all(s.topics["dlq"]) if m["key"] in states]
        self.assertEqual(dls, [])


def _broker_ports():
    """A broker port and its controller port (+1000), both free and below the ephemeral range."""
    for _ in range(100):
        port = free_port()
        if port + 1000 >= 32768:
            continue
        import socket
        with socket.socket() as sk:
            try:
                sk.bind(("127.0.0.1", port + 1000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free broker port pair")


class BrokerRestartTest(_Base):
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,400ms", "RETRY_MAX_AGE": "120s",
                  "CALLBACK_TIMEOUT": "5s", "BREAKER_THRESHOLD": "1000",
                  "CALLBACK_HOST_CONCURRENCY": "2"}

    @classmethod
    def setUpClass(cls):
        if os.environ.get("IB_TEST_KAFKA_BOOTSTRAP"):
            raise unittest.SkipTest("external broker: this test needs a broker of its own")
        port = _broker_ports()
        cls.kafka_broker = KafkaBroker(port=port, data_dir=tempfile.mkdtemp(
            prefix=f"ib-it-kafka-restart-{port}-"))
        cls.kafka_broker.ensure()
        try:
            super().setUpClass()
        except BaseException:
            cls.kafka_broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.kafka_broker.stop()

    def test_broker_restart_during_delivery(self):
        s = self.stack
        rng = random.Random(3)
        n = 150
        base = int(time.time() * 1000) - 600_000
        states, events, requested = {}, [], []
        for _ in range(n):
            iid = s.unique("br")
            requested.append((iid, requested_event(s.tenant_a, iid, s.sim.url(f"/f/{iid}"))))
            st = {1: ("pending", base + 1000), 2: ("completed", base + 2000)}
            if rng.random() < 0.2:
                st[3] = ("pending", base + 3000)
            states[iid] = st
            events += [status_event(iid, x[0], x[1], v) for v, x in st.items()]
        rng.shuffle(events)
        finals = final_versions(states)
        # Slow enough that deliveries go on for ~30 s (2 at a time, 200 ms): work is left while
        # the broker stops (a clean stop takes seconds, more on a busy machine) and while it is
        # away.
        s.sim.script("*", then={"mode": "mix", "seed": 5, "choices": [
            {"weight": 85, "status": 200, "delay_ms": 200},
            {"weight": 10, "status": 503},
            {"weight": 5, "mode": "reset"}]})
        s.kcat.produce_bulk(s.topics["requested"], requested)
        s.kcat.produce_bulk(s.topics["status"], [(e["interview_id"], e) for e in events])
        await_true(lambda: len(s.sim.requests()) >= 40, 60, "deliveries under way")

        t_stop = time.monotonic()
        s.broker.stop_keep_data()
        at_stop = len(s.sim.requests())
        # Deliveries go on while the broker is away (the loop never blocks on Kafka).
        await_true(lambda: len(s.sim.requests()) >= at_stop + 30, 60,
                   "30 more deliveries with the broker down")
        during = len(s.sim.requests()) - at_stop
        t_start = time.monotonic()
        s.broker.restart_keep_data()
        down_s = time.monotonic() - t_stop
        start_s = time.monotonic() - t_start

        t_back = time.monotonic()

        def done():
            seq, _, _ = ledger(s.sim.requests(), states)
            return all(finals[i] in seq.get(i, ()) for i in finals)
        await_true(done, 120, f"all {n} final states delivered after the restart", interval=0.5)
        recovery_s = time.monotonic() - t_back
        reqs = s.sim.requests()
        seq, regressions, dups = ledger(reqs, states)
        figures = {"interviews": n, "status_events": len(events), "broker_down_seconds":
                   round(down_s, 1), "broker_start_seconds": round(start_s, 1),
                   "requests_while_down": during, "seconds_to_all_delivered_after_start":
                   round(recovery_s, 1), "puts": len(reqs),
                   "puts_2xx": sum(len(v) for v in seq.values()), "duplicate_2xx": dups,
                   "regressions": len(regressions),
                   "produce_errors": metric(s, "ib_worker_kafka_produce_errors_total")}
        _figures(self, "broker_restart", figures)
        self.assertEqual(regressions[:5], [])
        for iid, vs in seq.items():
            self.assertEqual(vs[-1], finals[iid], f"{iid}: delivered {vs}")
            if 3 in vs:  # the later pending state may go first, never after the terminal one
                self.assertNotIn(2, vs[:vs.index(3)], f"{iid}: pending sent after completed")
        self.assertTrue(s.worker.alive())
        dls = [m for m in s.kcat.consume_all(s.topics["dlq"]) if m["key"] in states]
        self.assertEqual(dls, [])


if __name__ == "__main__":
    unittest.main()
