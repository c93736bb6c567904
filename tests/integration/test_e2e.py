"""End to end: Workable -> api-gateway -> Kafka -> results-worker -> Workable callback.

Real broker (scripts/kafka), real binaries, the callback simulator as Workable. Every wait is an
awaited event with a deadline (sim long-poll, topic or endpoint polling), never a fixed sleep.
"""

import re
import signal
import time
import unittest

from harness import (CONTRACT_POST_BODY, CONTRACT_RESULT, StackTestCase, patience,
                     completed_status_event)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

CATALOG_A = {
    "interview_templates": [{"id": "12345", "name": "Operations Interview"},
                            {"id": "2", "name": "Java Interview"}],
    "jobs": [{"id": "6789", "name": "Operations Manager"}],
}


def rejected_status_event(interview_id, occurred_at="2026-11-28T20:05:00Z"):
    return {"interview_id": interview_id, "status": "rejected", "occurred_at": occurred_at}


class EndToEndTest(StackTestCase):
    """Catalog view, interview creation event, result callback, rejected -> declined."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG_A)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG_A)

    def assertCallback(self, rec, tenant):
        self.assertEqual(rec["method"], "PUT", rec)
        self.assertEqual(rec["headers"].get("Authorization"),
                         f"Bearer {tenant['workable_token']}", rec)
        self.assertTrue(rec["headers"].get("Content-Type", "").startswith("application/json"),
                        rec)

    def test_templates_are_exactly_the_published_catalog(self):
        s = self.stack
        r = s.gw("GET", "/interview-templates", token=s.tenant_a["token"])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"), r)
        self.assertEqual(r.json(), {"interview_templates": CATALOG_A["interview_templates"]})

    def test_interview_request_event_and_result_callback(self):
        s = self.stack
        tenant = s.tenant_a
        cb_path = f"/interviews/8823119-{s.run_id}"
        body = s.interview_body(cb_path)

        # 1. POST /interviews -> 201 {"interview_id"}
        r = s.gw("POST", "/interviews", body, token=tenant["token"])
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"), r)
        created = r.json()
        self.assertEqual(set(created), {"interview_id"}, r)
        iid = created["interview_id"]
        self.assertIsInstance(iid, str)
        self.assertTrue(iid)

        # 2. The interviews.requested event: key, fields of docs/DESIGN.md, CloudEvents headers.
        #    201 means Kafka acknowledged it, so it is readable now (no waiting needed).
        events = s.requested_events(iid)
        self.assertEqual(len(events), 1, events)
        ev = events[0]
        v = ev["value"]
        self.assertEqual(set(v), {"interview_id", "tenant", "interview_template_id", "job_id",
                                  "job_title", "callback_url", "candidate", "preferences",
                                  "requested_at"}, v)
        self.assertEqual(v["interview_id"], iid)
        self.assertEqual(v["tenant"], tenant["id"])
        self.assertEqual(v["interview_template_id"], "12345")
        self.assertEqual(v["job_id"], "6789")
        self.assertEqual(v["job_title"], "Operations Manager")
        self.assertEqual(v["callback_url"], body["callback_url"])
        self.assertEqual(v["candidate"], CONTRACT_POST_BODY["candidate"])
        self.assertEqual(v["preferences"], {"key": "value"})
        self.assertRegex(v["requested_at"], RFC3339)
        h = ev["headers"]
        self.assertEqual(h.get("ce_specversion"), "1.0", h)
        self.assertEqual(h.get("ce_type"), "interview.requested", h)
        self.assertTrue(h.get("ce_id"), h)
        self.assertTrue(h.get("ce_source"), h)
        self.assertRegex(h.get("ce_time", ""), RFC3339)
        self.assertTrue(h.get("content-type", "").startswith("application/json"), h)
        for secret in (tenant["token"], tenant["workable_token"]):
            self.assertNotIn(secret, ev["raw"])
            self.assertNotIn(secret, str(ev["header_list"]))

        # 3. Workable's retry of the same POST: same interview_id, same ce_id.
        r2 = s.gw("POST", "/interviews", body, token=tenant["token"])
        self.assertEqual(r2.status, 201, r2)
        self.assertEqual(r2.json(), {"interview_id": iid})
        again = s.requested_events(iid)
        self.assertGreaterEqual(len(again), 1)
        self.assertEqual({e["headers"].get("ce_id") for e in again}, {h["ce_id"]}, again)
        # A different callback_url is a different interview.
        r3 = s.gw("POST", "/interviews", s.interview_body(), token=tenant["token"])
        self.assertEqual(r3.status, 201, r3)
        self.assertNotEqual(r3.json()["interview_id"], iid)

        # 4. The platform reports completion (score a number); Workable gets the contract payload.
        partition = ev["partition"]
        s.publish_status(completed_status_event(iid), partition)
        got = s.sim.wait(1, timeout=30, path=cb_path)
        rec = got[0]
        self.assertCallback(rec, tenant)
        self.assertEqual(rec["body"], CONTRACT_RESULT)
        self.assertEqual(rec["answered"], 200)

        # 5. rejected -> declined, for an interview co-partitioned with the first, published
        #    after it: once it has arrived, the completed one has had its chance to repeat.
        iid2, cb2, _ = s.create_interview(tenant, partition=partition)
        s.publish_status(rejected_status_event(iid2), partition)
        rec2 = s.sim.wait(1, timeout=30, path=cb2)[0]
        self.assertCallback(rec2, tenant)
        self.assertIsInstance(rec2["body"], dict, rec2)
        self.assertEqual(rec2["body"].get("status"), "declined", rec2)
        self.assertNotIn("rejected", rec2["body_raw"])
        self.assertEqual(len(s.sim.requests(cb_path)), 1, s.sim.requests(cb_path))
        self.assertEqual(len(s.sim.requests(cb2)), 1, s.sim.requests(cb2))


def process_state(pid):
    """The state letter of /proc/<pid>/stat ("T" when stopped), or "?" when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


class KafkaOutageTest(StackTestCase):
    """201 only after Kafka acknowledges: with the broker frozen the gateway answers 503."""

    with_worker = False
    gateway_env = {"GATEWAY_PRODUCE_TIMEOUT": "3s"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG_A)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG_A)

    def test_503_while_broker_frozen_then_201_again(self):
        s = self.stack
        token = s.tenant_a["token"]
        self.assertEqual(s.gw("POST", "/interviews", s.interview_body(), token=token).status, 201)

        body = s.interview_body()
        with s.broker.paused() as pid:
            frozen = process_state(pid)
            t0 = time.monotonic()
            r = s.gw("POST", "/interviews", body, token=token, timeout=30)
            elapsed = time.monotonic() - t0
            after = process_state(pid)
        self.assertEqual(frozen, "T", f"broker pid {pid} not stopped by SIGSTOP")
        self.assertNotEqual(r.status, 201, f"201 in {elapsed * 1000:.0f} ms although Kafka could "
                            f"not acknowledge (broker pid {pid} state {frozen} -> {after}, "
                            f"owned by this run: {s.broker.owned}): {r!r}")
        self.assertError(r, 503)
        retry_after = r.headers.get("Retry-After")
        self.assertIsNotNone(retry_after, r)
        self.assertRegex(retry_after, r"^\d+$", r)
        self.assertLess(elapsed, 20, "answer should come about GATEWAY_PRODUCE_TIMEOUT (3s)")

        # Broker back: the same request succeeds again (reconnecting takes a moment: every
        # answer until then must be a 503, never anything else).
        deadline = time.monotonic() + patience(60)
        answers = []
        while True:
            r = s.gw("POST", "/interviews", body, token=token, timeout=30)
            answers.append(r.status)
            if r.status == 201:
                break
            self.assertError(r, 503)
            self.assertLess(time.monotonic(), deadline, f"no 201 after resume: {answers}")
            time.sleep(0.5)  # client back-off between retries, as Retry-After asks
        iid = r.json()["interview_id"]
        self.assertTrue(s.requested_events(iid), "201 but no interviews.requested event")


class WorkerRestartTest(StackTestCase):
    """Offsets: a failing delivery survives a restart; a delivered one is not repeated."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG_A)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG_A)

    def restart_worker(self):
        rc = self.stack.worker.stop(signal.SIGTERM, 30)
        self.assertEqual(rc, 0, "results-worker should exit 0 on SIGTERM (clean shutdown)")
        self.stack.start_worker()

    def test_failing_delivery_survives_restart(self):
        s = self.stack
        tenant = s.tenant_a
        iid, cb, partition = s.create_interview(tenant)
        s.sim.script(cb, then={"status": 500})
        s.publish_status(completed_status_event(iid), partition)
        failed = s.sim.wait(2, timeout=30, path=cb)  # first attempt and at least one retry
        self.assertTrue(all(r["answered"] == 500 for r in failed), failed)

        rc = s.worker.stop(signal.SIGTERM, 30)
        self.assertEqual(rc, 0, "results-worker should exit 0 on SIGTERM (clean shutdown)")
        n = len(s.sim.requests(cb))  # no worker runs now: this count is final until restart
        s.sim.script(cb, then={"status": 200})
        s.start_worker()

        got = s.sim.wait(n + 1, timeout=60, path=cb)
        last = got[n]
        self.assertEqual(last["answered"], 200, got)
        self.assertEqual(last["method"], "PUT")
        self.assertEqual(last["headers"].get("Authorization"),
                         f"Bearer {tenant['workable_token']}")
        self.assertEqual(last["body"], CONTRACT_RESULT)
        for rec in got:
            self.assertEqual(rec["body"], CONTRACT_RESULT, rec)

    def test_delivered_event_not_repeated_after_restart(self):
        s = self.stack
        tenant = s.tenant_a
        iid, cb, partition = s.create_interview(tenant)
        s.publish_status(completed_status_event(iid), partition)
        first = s.sim.wait(1, timeout=30, path=cb)
        self.assertEqual(first[0]["answered"], 200)
        self.assertEqual(first[0]["body"], CONTRACT_RESULT)

        self.restart_worker()

        # A marker on the same partition of both topics, published after the delivered event:
        # a worker that resumed before the delivered offset would reach that event first.
        iid_m, cb_m, _ = s.create_interview(tenant, partition=partition)
        s.publish_status(completed_status_event(iid_m), partition)
        s.sim.wait(1, timeout=60, path=cb_m)
        self.assertEqual(len(s.sim.requests(cb)), 1,
                         f"delivered event was PUT again after restart: {s.sim.requests(cb)}")


if __name__ == "__main__":
    unittest.main()
