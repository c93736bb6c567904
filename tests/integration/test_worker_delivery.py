"""results-worker delivery semantics on a real broker with the callback simulator:
permanent failures and redirects to the DLQ at once, Retry-After, a host down for the whole run
dead-lettered on a shortened schedule and delivered by `scripts/dlq replay` once it is back, and
ordering (a newer state supersedes a queued older one; an older state is never sent after a
newer one)."""

import os
import time
import unittest

from harness import StackTestCase
from worker_util import (SimAt, await_metric, dlq_script, quiet_port, requested_event,
                         status_event, version_of)


class WorkerDeliveryTest(StackTestCase):
    with_gateway = False
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,500ms,1s", "RETRY_MAX_AGE": "4s",
                  "BREAKER_THRESHOLD": "3", "BREAKER_COOLDOWN": "500ms",
                  "CALLBACK_TIMEOUT": "3s"}

    def interview(self, url=None, path=None):
        s = self.stack
        iid = s.unique("w")
        path = path or f"/interviews/{iid}"
        url = url or s.sim.url(path)
        s.kcat.produce(s.topics["requested"], iid, requested_event(s.tenant_a, iid, url))
        return iid, path

    def publish(self, ev):
        self.stack.kcat.produce(self.stack.topics["status"], ev["interview_id"], ev)

    def dead_letter(self, iid, timeout=30):
        return self.stack.kcat.await_messages(self.stack.topics["dlq"],
                                              lambda m: m["key"] == iid, timeout=timeout,
                                              what=f"dead letter of {iid}")[0]["value"]

    def test_permanent_404_is_dead_lettered_at_once(self):
        s = self.stack
        iid, path = self.interview()
        s.sim.script(path, then={"status": 404, "body": {"message": "no such interview"}})
        self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        dl = self.dead_letter(iid)
        self.assertIn("HTTP 404", dl["reason"])
        self.assertEqual(dl["attempts"], 1, dl)
        self.assertEqual(dl["history"][0]["http_status"], 404, dl)
        self.assertIn("no such interview", dl["history"][0]["excerpt"], dl)
        self.assertEqual(dl["interview_id"], iid)
        self.assertEqual(len(s.sim.requests(path)), 1)
        self.assertNotIn(s.tenant_a["workable_token"], str(dl))

    def test_redirect_is_not_followed(self):
        s = self.stack
        iid, path = self.interview()
        target = f"/elsewhere/{iid}"
        s.sim.script(path, then={"status": 302, "headers": {"Location": s.sim.url(target)}})
        self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        dl = self.dead_letter(iid)
        self.assertIn("HTTP 302", dl["reason"])
        self.assertEqual(s.sim.requests(target), [])

    def test_retry_after_is_honoured(self):
        s = self.stack
        iid, path = self.interview()
        s.sim.script(path, [{"status": 429, "headers": {"Retry-After": "2"}}])
        self.publish(status_event(iid, "completed", int(time.time() * 1000), 1))
        got = s.sim.wait(2, timeout=30, path=path)
        self.assertEqual([r["answered"] for r in got[:2]], [429, 200])
        t0 = time.mktime(time.strptime(got[0]["ts"][:19], "%Y-%m-%dT%H:%M:%S")) + \
            float("0" + got[0]["ts"][19:-1])
        t1 = time.mktime(time.strptime(got[1]["ts"][:19], "%Y-%m-%dT%H:%M:%S")) + \
            float("0" + got[1]["ts"][19:-1])
        self.assertGreaterEqual(t1 - t0, 1.9, got)

    def test_older_state_is_never_sent_after_a_newer_one(self):
        s = self.stack
        iid, path = self.interview()
        now = int(time.time() * 1000)
        before = _superseded(s)
        self.publish(status_event(iid, "completed", now + 1000, 2))
        s.sim.wait(1, timeout=30, path=path)
        self.publish(status_event(iid, "pending", now, 1))           # older
        self.publish(status_event(iid, "pending", now + 5000, 3))    # later, but not terminal
        await_metric(s, "ib_worker_superseded_total", before + 2, timeout=30)
        reqs = s.sim.requests(path)
        self.assertEqual([version_of(r["body"]) for r in reqs], [2], reqs)

    def test_host_down_dead_letter_then_replay(self):
        s = self.stack
        port = quiet_port()  # nothing listens here until the host "comes back"
        iid = s.unique("down")
        path = f"/interviews/{iid}"
        url = f"http://127.0.0.1:{port}{path}"
        s.kcat.produce(s.topics["requested"], iid, requested_event(s.tenant_a, iid, url))
        ev = status_event(iid, "completed", int(time.time() * 1000), 7)
        self.publish(ev)
        dl = self.dead_letter(iid, timeout=60)
        self.assertTrue(dl["reason"].startswith("retries exhausted"), dl)
        self.assertGreaterEqual(dl["attempts"], 2, dl)
        self.assertGreaterEqual(len(dl["history"]), 1, dl)
        self.assertTrue(all("error" in h or "http_status" in h for h in dl["history"]), dl)
        self.assertEqual(dl["callback_url"], url)
        self.assertEqual(dl["value"] if isinstance(dl["value"], dict) else
                         __import__("json").loads(dl["value"]), ev)

        listed = dlq_script(s, "list", "--interview", iid)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(iid, listed.stdout)
        self.assertIn("retries exhausted", listed.stdout)

        back = SimAt(port, os.path.join(s.dir, "sim-back.log"))
        try:
            r = dlq_script(s, "replay", "--interview", iid)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            from harness import await_true
            got = await_true(lambda: [x for x in back.requests(path) if x["answered"] == 200],
                             30, "replayed delivery")
            self.assertEqual(version_of(got[0]["body"]), 7)
            self.assertEqual(got[0]["body"]["status"], "completed")
        finally:
            back.stop()

    def test_replay_selection_needs_a_filter(self):
        r = dlq_script(self.stack, "replay")
        self.assertEqual(r.returncode, 2, r.stderr)


class QueuedRetrySupersededTest(StackTestCase):
    """A newer state supersedes a queued older one. A class of its own: the older state's retry
    must wait long enough (Retry-After) for the newer one to come first on any machine, longer
    than WorkerDeliveryTest's shortened RETRY_MAX_AGE."""

    with_gateway = False
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,500ms,1s", "RETRY_MAX_AGE": "120s",
                  "BREAKER_THRESHOLD": "3", "BREAKER_COOLDOWN": "500ms",
                  "CALLBACK_TIMEOUT": "3s"}
    interview = WorkerDeliveryTest.interview
    publish = WorkerDeliveryTest.publish

    def test_newer_state_supersedes_a_queued_older_one(self):
        s = self.stack
        iid, path = self.interview()
        now = int(time.time() * 1000)
        # completed fails with a long Retry-After: its retry record waits; meanwhile a later
        # completed (an updated result) is delivered; when the record comes due it is dropped,
        # not sent. (pending is never PUT, so the older state is a completed one.)
        # 10 s: the newer state must be delivered first, and its publication and delivery
        # take well under a second on an idle machine, a few under ASan on two busy cores.
        s.sim.script(path, [{"status": 503, "headers": {"Retry-After": "10"}}])
        before = _superseded(s)
        self.publish(status_event(iid, "completed", now, 1))
        s.sim.wait(1, timeout=30, path=path)
        self.publish(status_event(iid, "completed", now + 1000, 2))
        s.sim.wait(2, timeout=30, path=path)
        await_metric(s, "ib_worker_superseded_total", before + 1, timeout=30)
        reqs = s.sim.requests(path)
        delivered = [version_of(r["body"]) for r in reqs if r["answered"] == 200]
        self.assertEqual(delivered, [2], reqs)


def _superseded(stack):
    from worker_util import metric
    return metric(stack, "ib_worker_superseded_total")


if __name__ == "__main__":
    unittest.main()
