"""The interviews' changelog (interviews.state) and the lifecycle of an interview.

The raw topics keep a window: interviews.status (and its repartition mirror) for days,
interviews.requested until its retention. The changelog, compacted, keeps each interview's
tenant, callback URL and latest state until the interview is erased or its keep time
(INTERVIEW_KEEP_FINISHED) after its final state has passed. These tests shorten the raw topics'
retention on the test broker until Kafka has deleted every raw record of an interview, then check
that a freshly started gateway still answers its final payload and a freshly started worker still
delivers a late status event for it; and that a finished interview past its keep time is erased:
tombstones on the changelog and on interviews.requested, 404 on GET, no callback afterwards."""

import signal
import time
import unittest

from harness import StackTestCase, await_true, patience
from worker_util import metric, status_event


CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}


def _now_ms():
    return int(time.time() * 1000)


def _publish_catalog(stack):
    """The catalog the contract's POST body names, so that POST /interviews is accepted."""
    stack.publish_catalog(stack.tenant_a, CATALOG)
    stack.await_templates(stack.tenant_a, CATALOG)


class RawEventsExpiredTest(StackTestCase):
    """Retention of the raw topics shortened to one second: the changelog is all that is left."""

    worker_env = {"RETRY_SCHEDULE": "0s,500ms", "LOG_LEVEL": "info"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _publish_catalog(cls.stack)

    def low_watermarks_reached(self, topic):
        """True once Kafka deleted every record of topic (kcat reads nothing from the start)."""
        return not self.stack.kcat.consume_all(topic)

    def test_final_payload_and_late_status_survive_raw_retention(self):
        s = self.stack
        iid, path, _ = s.create_interview()
        base = _now_ms()
        s.publish_status(status_event(iid, "pending", base - 60000))
        done = status_event(iid, "completed", base - 30000, version=1)
        done["interview"]["summary"] = "Strong answers on scheduling."
        s.publish_status(done)
        got = s.sim.wait(1, timeout=30, path=path)
        self.assertEqual(got[0]["answered"], 200, got)
        self.assertEqual(got[0]["body"]["status"], "completed", got)

        # The worker wrote the final state to the changelog, with the interview's owner.
        rec = s.kcat.await_messages(
            s.topics["state"],
            lambda m: m["key"] == iid and isinstance(m["value"], dict)
            and m["value"].get("status") == "completed",
            what=f"changelog record of {iid}")[-1]
        self.assertEqual(rec["value"]["tenant"], s.tenant_a["id"], rec)
        self.assertEqual(rec["value"]["callback_url"], s.sim.url(path), rec)
        self.assertEqual(rec["headers"].get("ce_type"), "interview.state", rec)
        self.assertEqual(rec["partition"], s.requested_events(iid)[0]["partition"], rec)

        before = s.gw("GET", f"/interviews/{iid}", token=s.tenant_a["token"])
        self.assertEqual(before.status, 200, before)
        self.assertEqual(before.json()["status"], "completed", before)

        # Kafka deletes the raw records: retention of one second on every raw topic.
        s.worker.stop(signal.SIGTERM, 30)
        for name in ("requested", "status", "repartition"):
            s.broker.alter_topic_config(s.topics[name], **{"retention.ms": "1000"})
        for name in ("requested", "status", "repartition"):
            await_true(lambda n=name: self.low_watermarks_reached(s.topics[n]), patience(120),
                       f"Kafka to delete every record of {s.topics[name]}", interval=1)

        # A gateway started now has only the changelog: the same answer, the owner kept.
        fresh = s.spawn_gateway(name="api-gateway-after-retention")
        self.addCleanup(fresh.stop, signal.SIGKILL, 10)
        r = s.gw_at(fresh, "GET", f"/interviews/{iid}", token=s.tenant_a["token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), before.json())
        r = s.gw_at(fresh, "GET", f"/interviews/{iid}", token=s.tenant_b["token"])
        self.assertEqual(r.status, 404, r)

        # A worker started now knows the interview from the changelog alone: a late result is
        # delivered, an older state is not.
        s.start_worker()
        s.publish_status(status_event(iid, "pending", base - 50000))
        late = status_event(iid, "completed", base, version=2)
        s.publish_status(late)
        got = s.sim.wait(2, timeout=30, path=path)
        self.assertEqual(len(got), 2, got)
        self.assertEqual(got[1]["answered"], 200, got)
        self.assertEqual(got[1]["body"]["results_url"], late["results_url"], got)
        self.assertEqual(metric(s, "ib_worker_dead_letters_total"), 0)
        # The gateway reads the late result (status event, then its changelog record) on its own
        # consumer: awaited, it may come after the worker's PUT.
        last = {}

        def late_served():
            last["r"] = r = s.gw_at(fresh, "GET", f"/interviews/{iid}", token=s.tenant_a["token"])
            return r.status == 200 and r.json().get("results_url") == late["results_url"]
        await_true(late_served, patience(30), f"the fresh gateway to serve the late result of {iid}",
                   interval=0.2)
        self.assertEqual(last["r"].json()["results_url"], late["results_url"], last["r"])
        # The stale pending (read before the late result) never went out.
        self.assertEqual([g["body"]["status"] for g in s.sim.requests(path)],
                         ["completed", "completed"])


class KeepTimeTest(StackTestCase):
    """INTERVIEW_KEEP_FINISHED: a finished interview is erased that long after its final state;
    INTERVIEW_KEEP_OPEN: one left pending, that long after its pending state."""

    worker_env = {"RETRY_SCHEDULE": "0s,500ms", "INTERVIEW_KEEP_FINISHED": "20s",
                  "INTERVIEW_KEEP_OPEN": "40s", "LOG_LEVEL": "info"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _publish_catalog(cls.stack)

    def test_finished_then_pending_interview_erased_at_keep_times(self):
        s = self.stack
        old_id, old_path, _ = s.create_interview()
        open_id, open_path, _ = s.create_interview()
        now = _now_ms()
        # Finished 10 s ago: 10 s left. The other pending since 5 s ago: 35 s left.
        s.publish_status(status_event(old_id, "completed", now - 10000, version=1))
        s.publish_status(status_event(open_id, "pending", now - 5000))
        self.assertEqual(s.sim.wait(1, timeout=30, path=old_path)[0]["answered"], 200)
        r = s.gw("GET", f"/interviews/{old_id}", token=s.tenant_a["token"])
        self.assertEqual(r.status, 200, r)

        for name in ("state", "requested"):
            tomb = s.kcat.await_messages(
                s.topics[name], lambda m: m["key"] == old_id and m["value"] is None,
                timeout=patience(60), what=f"keep-time tombstone of {old_id} on {name}")[0]
            self.assertIsNone(tomb["raw"], tomb)
        erased_at = _now_ms()
        self.assertGreaterEqual(erased_at, now + 10000 - 1000)  # not before its keep time

        await_true(lambda: s.gw("GET", f"/interviews/{old_id}",
                                token=s.tenant_a["token"]).status == 404,
                   patience(30), f"GET /interviews/{old_id} to answer 404", interval=0.2)
        self.assertGreaterEqual(metric(s, "ib_worker_interviews_expired_total"), 1)

        # No callback for it afterwards: a late event is a dead letter, never a PUT.
        s.publish_status(status_event(old_id, "completed", _now_ms(), version=2))
        dl = s.kcat.await_messages(
            s.topics["dlq"], lambda m: isinstance(m["value"], dict)
            and m["value"].get("interview_id") == old_id, timeout=patience(30),
            what=f"dead letter of the late event of {old_id}")[0]
        self.assertIn("unknown interview", dl["value"]["reason"], dl)
        self.assertEqual(len(s.sim.requests(old_path)), 1)

        # The open interview stays until its own keep time, in the view and in the changelog ...
        r = s.gw("GET", f"/interviews/{open_id}", token=s.tenant_a["token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "pending", r)
        checked_at = _now_ms()
        self.assertFalse([m for m in s.kcat.consume_all(s.topics["state"])
                          if m["key"] == open_id and m["value"] is None])
        if checked_at >= now + 35000:
            self.skipTest("the machine was too slow to see the open interview before its keep "
                          "time")
        # ... and is erased after it.
        for name in ("state", "requested"):
            s.kcat.await_messages(
                s.topics[name], lambda m: m["key"] == open_id and m["value"] is None,
                timeout=patience(60), what=f"keep-time tombstone of {open_id} on {name}")
        self.assertGreaterEqual(_now_ms(), now + 35000 - 1000)
        await_true(lambda: s.gw("GET", f"/interviews/{open_id}",
                                token=s.tenant_a["token"]).status == 404,
                   patience(30), f"GET /interviews/{open_id} to answer 404", interval=0.2)
        self.assertEqual(s.sim.requests(open_path), [])


if __name__ == "__main__":
    unittest.main()
