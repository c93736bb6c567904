"""api-gateway: GET /interviews/{id}, GET /interviews/{id}/shared-link, GET /jobs.

GET /interviews/{id} must answer exactly what the results-worker PUTs (both build it with
shared/src/payload.c): checked against the worker's actual PUT and against the table of
tests/data/shared/payload_cases.json (event -> expected payload and shared link), which the
shared library's unit tests also use.
"""

import json
import os
import time
import unittest

from harness import (CONTRACT_RESULT, REPO_ROOT, StackTestCase, await_true,
                     completed_status_event)

CATALOG_A = {
    "interview_templates": [{"id": "12345", "name": "Operations Interview"}],
    "jobs": [{"id": "6789", "name": "Operations Manager"},
             {"id": "yec3", "name": "Treasury Manager"}],
}
CATALOG_B = {"interview_templates": [{"id": "12345", "name": "Aptitude Interview"}]}  # no jobs

PAYLOAD_CASES = os.path.join(REPO_ROOT, "tests", "data", "shared", "payload_cases.json")


class _Base(StackTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, CATALOG_A)
        s.publish_catalog(s.tenant_b, CATALOG_B)
        s.await_templates(s.tenant_a, CATALOG_A)
        s.await_templates(s.tenant_b, CATALOG_B)

    def get(self, path, tenant=None):
        s = self.stack
        return s.gw("GET", path, token=(tenant or s.tenant_a)["token"])

    def await_get(self, path, want, tenant=None, timeout=20):
        """Polls GET path until it answers 200 with body want (the view applies asynchronously).
        Every other answer on the way must be a 404 (not yet known) or the previous state."""
        last = {}

        def check():
            r = self.get(path, tenant)
            last["r"] = r
            return r.status == 200 and r.json() == want
        try:
            await_true(check, timeout, f"GET {path} == {want}", interval=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last {last.get('r')!r}") from None
        return last["r"]


class InterviewEndpointsTest(_Base):
    with_worker = False

    def test_pending_then_completed_then_isolation(self):
        s = self.stack
        iid, _, partition = s.create_interview(s.tenant_a)
        r = self.await_get(f"/interviews/{iid}", {"status": "pending"})
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"), r)
        # No status event yet: no shared link.
        self.assertError(self.get(f"/interviews/{iid}/shared-link"), 404)

        # Issued now: its 120 minutes count down from occurred_at.
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        s.publish_status(completed_status_event(iid, now), partition)
        self.await_get(f"/interviews/{iid}", CONTRACT_RESULT)
        link = self.get(f"/interviews/{iid}/shared-link")
        self.assertEqual(link.status, 200, link)
        self.assertIn(link.json(), [{"url": "https://acme.com/interviews/2044922/link",
                                     "ttl": t, "ttl_units": "minutes"} for t in ("119", "120")])

        # Another tenant: 404 on both, with the contract's error body; the ids do not leak.
        for path in (f"/interviews/{iid}", f"/interviews/{iid}/shared-link"):
            body = self.assertError(self.get(path, s.tenant_b), 404)
            self.assertNotIn(iid, body["message"])
        # Unknown ids (well-formed, malformed, too long): 404.
        for bad in ("0" * 32, iid[:-1], iid.upper(), "2044922", "x" * 64, "x" * 300):
            with self.subTest(id=bad):
                self.assertError(self.get(f"/interviews/{bad}"), 404)
                self.assertError(self.get(f"/interviews/{bad}/shared-link"), 404)

    def test_read_your_write(self):
        """The replica that answered 201 knows the interview at once (no view lag)."""
        s = self.stack
        for _ in range(5):
            r = s.gw("POST", "/interviews", s.interview_body(), token=s.tenant_a["token"])
            self.assertEqual(r.status, 201, r)
            iid = r.json()["interview_id"]
            g = self.get(f"/interviews/{iid}")
            self.assertEqual((g.status, g.json()), (200, {"status": "pending"}), g)
            self.assertError(self.get(f"/interviews/{iid}", s.tenant_b), 404)

    def test_auth_and_methods_on_interview_routes(self):
        s = self.stack
        self.assertError(s.gw("GET", "/interviews/" + "0" * 32), 401, "Missing Token")
        self.assertError(s.gw("GET", "/interviews/" + "0" * 32 + "/shared-link", token="nope"),
                         401, "Invalid Token")
        r = s.gw("POST", "/interviews/" + "0" * 32, {}, token=s.tenant_a["token"])
        self.assertError(r, 405)
        self.assertEqual(r.headers.get("Allow"), "GET", r)
        r = s.gw("DELETE", "/interviews/abc/shared-link", token=s.tenant_a["token"])
        self.assertError(r, 405)
        self.assertEqual(r.headers.get("Allow"), "GET", r)

    def test_latest_state_wins(self):
        """The lifecycle (ib_status_supersedes): an older event, a pending after a terminal state
        and another finished state change nothing; a later event of the same state replaces."""
        s = self.stack
        iid, _, partition = s.create_interview(s.tenant_a)
        s.publish_status({"interview_id": iid, "status": "rejected",
                          "occurred_at": "2026-11-28T20:00:00Z"}, partition)
        self.await_get(f"/interviews/{iid}", {"status": "declined"})
        # Published after it on the same partition, so applied after it; then a marker whose
        # visibility proves both were applied.
        s.publish_status({"interview_id": iid, "status": "pending",
                          "occurred_at": "2026-11-29T00:00:00Z"}, partition)
        s.publish_status(completed_status_event(iid, "2026-11-28T19:00:00Z"), partition)
        marker, _, _ = s.create_interview(s.tenant_a)
        s.publish_status({"interview_id": marker, "status": "expired",
                          "occurred_at": "2026-11-28T20:00:00Z"}, partition)
        self.await_get(f"/interviews/{marker}", {"status": "expired"})
        r = self.get(f"/interviews/{iid}")
        self.assertEqual((r.status, r.json()), (200, {"status": "declined"}), r)
        # A finished interview does not become another finished state, however late.
        s.publish_status(completed_status_event(iid, "2026-11-28T21:00:00Z"), partition)
        s.publish_status({"interview_id": iid, "status": "rejected",
                          "occurred_at": "2026-11-28T22:00:00Z",
                          "results_url": "https://acme.com/r/2"}, partition)
        self.await_get(f"/interviews/{iid}",
                       {"results_url": "https://acme.com/r/2", "status": "declined"})

    def test_payload_table(self):
        """Every valid case of payload_cases.json: GET answers its payload and shared link."""
        s = self.stack
        with open(PAYLOAD_CASES, encoding="utf-8") as f:
            cases = [c for c in json.load(f) if c.get("payload") is not None]
        self.assertGreater(len(cases), 5)
        ids = []
        for case in cases:
            iid, _, partition = s.create_interview(s.tenant_a)
            ev = dict(case["event"], interview_id=iid)
            s.publish_status(ev, partition)
            ids.append(iid)
        for case, iid in zip(cases, ids):
            with self.subTest(case=case["name"]):
                self.await_get(f"/interviews/{iid}", case["payload"])
                link = self.get(f"/interviews/{iid}/shared-link")
                if case.get("shared_link") is None:
                    self.assertError(link, 404)
                elif "expires_at_ms" not in case["shared_link"]:  # views, or no ttl
                    self.assertEqual((link.status, link.json()), (200, case["shared_link"]), link)
                else:  # counts down to occurred_at + ttl; 404 once passed
                    stored = case["shared_link"]
                    unit = 86400000 if stored["ttl_units"] == "days" else 60000
                    left = stored["expires_at_ms"] - int(time.time() * 1000)
                    if left <= 0:
                        self.assertError(link, 404)
                    else:
                        self.assertEqual(link.status, 200, link)
                        self.assertIn(int(link.json()["ttl"]), (left // unit, left // unit - 1))
                        self.assertEqual(link.json()["url"], stored["url"])

    def test_jobs(self):
        s = self.stack
        r = self.get("/jobs")
        self.assertEqual((r.status, r.json()), (200, {"jobs": CATALOG_A["jobs"]}), r)
        # B's catalog has no "jobs": no job categorisation -> 404 with the error body.
        self.assertError(self.get("/jobs", s.tenant_b), 404)
        # job_id is checked against A's jobs; B accepts any (Workable sends none to it).
        body = s.interview_body(job_id="no-such-job")
        self.assertError(s.gw("POST", "/interviews", body, token=s.tenant_a["token"]), 400,
                         "Invalid field: job_id is not a known job")
        self.assertEqual(s.gw("POST", "/interviews", s.interview_body(job_id="yec3"),
                              token=s.tenant_a["token"]).status, 201)
        r = s.gw("POST", "/interviews", s.interview_body(job_id="anything"),
                 token=s.tenant_b["token"])
        self.assertEqual(r.status, 201, r)
        # A number is accepted and normalised (to the known job "6789").
        r = s.gw("POST", "/interviews", s.interview_body(job_id=6789, interview_template_id=12345),
                 token=s.tenant_a["token"])
        self.assertEqual(r.status, 201, r)
        ev = s.requested_events(r.json()["interview_id"])[0]["value"]
        self.assertEqual((ev["job_id"], ev["interview_template_id"]), ("6789", "12345"))

    def test_catalog_change_without_restart(self):
        s = self.stack
        new = {"interview_templates": [{"id": "77", "name": "New"}]}
        s.publish_catalog(s.tenant_b, new)
        s.await_templates(s.tenant_b, new)
        self.assertError(self.get("/jobs", s.tenant_b), 404)
        with_jobs = dict(new, jobs=[{"id": "j1", "name": "Job"}])
        s.publish_catalog(s.tenant_b, with_jobs)
        await_true(lambda: self.get("/jobs", s.tenant_b).status == 200, 20, "B's jobs")
        self.assertEqual(self.get("/jobs", s.tenant_b).json(), {"jobs": with_jobs["jobs"]})
        s.publish_catalog(s.tenant_b, CATALOG_B)
        s.await_templates(s.tenant_b, CATALOG_B)
        await_true(lambda: self.get("/jobs", s.tenant_b).status == 404, 20, "B's jobs gone")


class InterviewMatchesWorkerTest(_Base):
    """The bytes GET /interviews/{id} answers are the bytes the results-worker PUT."""

    with_worker = True

    def test_get_equals_the_put(self):
        s = self.stack
        iid, cb, partition = s.create_interview(s.tenant_a)
        s.publish_status(completed_status_event(iid), partition)
        put = s.sim.wait(1, timeout=30, path=cb)[0]
        self.assertEqual(put["body"], CONTRACT_RESULT)
        r = self.await_get(f"/interviews/{iid}", put["body"])
        self.assertEqual(r.body.decode(), put["body_raw"])


if __name__ == "__main__":
    unittest.main()
