"""What Workable gets, over a real broker: a status event with bad fields is delivered with them
repaired or left out and a partial record on the dead-letter topic (schemas/callbacks.dlq); the
lifecycle (pending -> completed | declined | expired, no finished state becomes another one,
pending never PUT) in the worker and in the gateway's GET; a tenant's declined_status word in
both; shared links counting down from occurred_at + ttl."""

import json
import os
import secrets
import sys
import time
import unittest

from harness import REPO_ROOT, StackTestCase, await_true
from worker_util import await_metric, metric, requested_event, rfc3339

try:
    import jsonschema  # noqa: F401
except ImportError:  # a Python other than Debian's: use Debian's package (same minor version)
    sys.path.append("/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.join(REPO_ROOT, "schemas"))
import check_schemas  # noqa: E402


class WorkerResultsTest(StackTestCase):
    worker_env = {"RETRY_SCHEDULE": "0s,200ms", "RETRY_MAX_AGE": "10s"}
    tenant_b_extra = {"declined_status": "rejected"}

    def interview(self, tenant=None):
        """A fresh interview (32 hex: the gateway's view takes it as one of ours) whose
        callback is the simulator; returns (iid, callback path)."""
        s = self.stack
        iid = secrets.token_hex(16)
        path = f"/r/{iid}"
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(tenant or s.tenant_a, iid, s.sim.url(path)))
        return iid, path

    def publish(self, ev):
        self.stack.kcat.produce(self.stack.topics["status"], ev["interview_id"], ev)

    def get(self, path, tenant=None):
        s = self.stack
        return s.gw("GET", path, token=(tenant or s.tenant_a)["token"])

    def await_get(self, path, want, tenant=None, timeout=20):
        last = {}

        def check():
            last["r"] = self.get(path, tenant)
            return last["r"].status == 200 and last["r"].json() == want
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return last["r"]
            time.sleep(0.1)
        self.fail(f"GET {path} never answered {want}; last {last.get('r')!r}")

    def bodies(self, path):
        return [r["body"] for r in self.stack.sim.requests(path)]

    def test_bad_fields_repaired_or_left_out_with_a_partial_record(self):
        s = self.stack
        iid, path = self.interview()
        ev = {"interview_id": iid, "status": "completed", "occurred_at": "2026-11-28T20:00:00Z",
              "results_url": "http://acme.com/results",
              "interview": {"score": "78%", "grade": "Passed", "summary": "Good.",
                            "duration": 3677,
                            "details": {"started": "2026-11-28T21:00:00+01:00"}},
              "attachments": [{"description": "report", "url": "https://acme.com/r.pdf"},
                              {"description": "video", "url": "https://acme.com/v.mp4"},
                              {"description": "plain", "url": "http://acme.com/p.pdf"}],
              "shared_link": {"url": "https://acme.com/l", "ttl": -5, "ttl_units": "minutes"}}
        before = metric(s, "ib_worker_payload_fixes_total", {"kind": "attachment"})
        self.publish(ev)
        s.sim.wait(1, timeout=30, path=path)
        self.assertEqual(self.bodies(path), [{
            "status": "completed",
            "interview": {"score": "78", "grade": "passed", "summary": "Good.",
                          "details": {"started": "2026-11-28T20:00:00Z"},
                          "duration": "01:01:17"},
            "attachments": [{"description": "report", "url": "https://acme.com/r.pdf"}]}])
        rec = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] == iid, timeout=30,
                                    what=f"partial record of {iid}")[0]["value"]
        errs = check_schemas.errors(check_schemas.validator("callbacks.dlq"), rec)
        self.assertEqual(errs, [], rec)
        self.assertEqual(rec["kind"], "partial", rec)
        self.assertTrue(rec["reason"].startswith("partial: "), rec)
        self.assertEqual(json.loads(rec["value"]), ev)  # the original event, for a replay
        self.assertEqual(rec["interview_id"], iid)
        self.assertEqual(rec["source_topic"], s.topics["status"])
        kinds = [(f["kind"], f["field"], f["action"]) for f in rec["fixes"]]
        self.assertEqual(kinds, [
            ("results_url", "results_url", "omitted"),
            ("score_percent", "interview.score", "repaired"),
            ("grade_case", "interview.grade", "repaired"),
            ("details_date", "interview.details", "repaired"),
            ("duration_seconds", "interview.duration", "repaired"),
            ("attachment", "attachments[1]", "omitted"),
            ("attachment", "attachments[2]", "omitted"),
            ("shared_link", "shared_link", "omitted")], rec)
        await_metric(s, "ib_worker_payload_fixes_total", before + 2, labels={"kind": "attachment"})
        await_metric(s, "ib_worker_partial_records_total", 1)
        # The gateway serves the same repaired payload, and no link.
        self.await_get(f"/interviews/{iid}", self.bodies(path)[0])
        self.assertEqual(self.get(f"/interviews/{iid}/shared-link").status, 404)
        # One log line names the interview and what was done.
        await_true(lambda: _logged(s.worker.log_path, iid, "repaired or left out"), 10,
                   "the partial record's log line")

    def test_lifecycle(self):
        s = self.stack
        now = int(time.time() * 1000)
        iid, path = self.interview()
        before = metric(s, "ib_worker_lifecycle_refused_total")
        # pending is the starting state: served on GET, never PUT (the first PUT below is the
        # completed one).
        self.publish({"interview_id": iid, "status": "pending", "occurred_at": rfc3339(now)})
        self.await_get(f"/interviews/{iid}", {"status": "pending"})
        done = {"interview_id": iid, "status": "completed", "occurred_at": rfc3339(now + 1000),
                "results_url": "https://acme.com/r/1"}
        self.publish(done)
        s.sim.wait(1, timeout=30, path=path)
        self.assertEqual([b["status"] for b in self.bodies(path)], ["completed"])
        # completed then expired (later) keeps completed: logged and counted, not delivered.
        self.publish({"interview_id": iid, "status": "expired",
                      "occurred_at": rfc3339(now + 2000)})
        await_metric(s, "ib_worker_lifecycle_refused_total", before + 1)
        # A later completed updates the result.
        self.publish(dict(done, occurred_at=rfc3339(now + 3000), results_url="https://acme.com/r/2"))
        s.sim.wait(2, timeout=30, path=path)
        self.assertEqual([b["status"] for b in self.bodies(path)], ["completed", "completed"])
        self.assertEqual(self.bodies(path)[1]["results_url"], "https://acme.com/r/2")
        self.await_get(f"/interviews/{iid}",
                       {"results_url": "https://acme.com/r/2", "status": "completed"})

    def test_declined_word_per_tenant(self):
        s = self.stack
        now = rfc3339(int(time.time() * 1000))
        a, path_a = self.interview(s.tenant_a)
        b, path_b = self.interview(s.tenant_b)
        self.publish({"interview_id": a, "status": "declined", "occurred_at": now})
        self.publish({"interview_id": b, "status": "declined", "occurred_at": now})
        s.sim.wait(1, timeout=30, path=path_a)
        s.sim.wait(1, timeout=30, path=path_b)
        self.assertEqual(self.bodies(path_a), [{"status": "declined"}])
        self.assertEqual(self.bodies(path_b), [{"status": "rejected"}])
        self.await_get(f"/interviews/{a}", {"status": "declined"}, s.tenant_a)
        self.await_get(f"/interviews/{b}", {"status": "rejected"}, s.tenant_b)

    def test_shared_link_counts_down(self):
        s = self.stack
        now = int(time.time() * 1000)
        live, _ = self.interview()
        old, _ = self.interview()
        views, _ = self.interview()
        self.publish({"interview_id": live, "status": "completed",
                      "occurred_at": rfc3339(now - 30 * 60000),
                      "shared_link": {"url": "https://acme.com/l", "ttl": 120,
                                      "ttl_units": "minutes"}})
        self.publish({"interview_id": old, "status": "completed",
                      "occurred_at": rfc3339(now - 3 * 86400000),
                      "shared_link": {"url": "https://acme.com/o", "ttl": "2",
                                      "ttl_units": "days"}})
        self.publish({"interview_id": views, "status": "completed", "occurred_at": rfc3339(now),
                      "shared_link": {"url": "https://acme.com/v", "ttl": 3,
                                      "ttl_units": "views"}})
        self.await_get(f"/interviews/{views}/shared-link",
                       {"url": "https://acme.com/v", "ttl": "3", "ttl_units": "views"})
        r = self.get(f"/interviews/{live}/shared-link")
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.json()["ttl"], ("89", "90"), r)  # 120 minutes from 30 minutes ago
        self.assertEqual((r.json()["url"], r.json()["ttl_units"]), ("https://acme.com/l", "minutes"))
        self.await_get(f"/interviews/{old}", {"status": "completed"})
        r = self.get(f"/interviews/{old}/shared-link")
        self.assertEqual(r.status, 404, r)
        self.assertIn("expired", r.json().get("error", json.dumps(r.json())), r)


def _logged(path, *words):
    with open(path, encoding="utf-8", errors="replace") as f:
        return any(all(w in line for w in words) for line in f)


if __name__ == "__main__":
    unittest.main()
