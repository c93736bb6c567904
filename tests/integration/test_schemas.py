"""The events on Kafka match schemas/: what the services emit, read back from the real
broker (interview.requested with its CloudEvents headers from the gateway; retry records, dead
letters and interviews.state records from the worker), and what they accept (the catalog and
status events of deploy/demo, published and then served or delivered).

Validation uses jsonschema (Debian's python3-jsonschema when the interpreter running the tests
does not have its own) through schemas/check_schemas.py, the same code scripts/check-deploy runs.
"""

import copy
import json
import os
import sys
import unittest

from harness import REPO_ROOT, StackTestCase

try:
    import jsonschema  # noqa: F401
except ImportError:  # a Python other than Debian's: use Debian's package (same minor version)
    sys.path.append("/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.join(REPO_ROOT, "schemas"))
import check_schemas  # noqa: E402

CATALOG = {
    "interview_templates": [{"id": "12345", "name": "Operations Interview"}],
    "jobs": [{"id": "6789", "name": "Operations Manager"}],
}


def demo(name):
    with open(os.path.join(REPO_ROOT, "deploy", "demo", name), encoding="utf-8") as f:
        return json.load(f)


class EventSchemaTest(StackTestCase):
    # Short delays so a transient failure is retried within the test.
    worker_env = {"RETRY_SCHEDULE": "0s,1s", "RETRY_MAX_AGE": "1m"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v = {n: check_schemas.validator(n) for n in check_schemas.NAMES}
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)

    def assertValid(self, schema, instance, what):
        errs = check_schemas.errors(self.v[schema], instance)
        self.assertEqual(errs, [], f"{what} does not match schemas/{schema}.schema.json: "
                                   f"{json.dumps(instance)[:2000]}")

    def test_requested_events_and_headers(self):
        s = self.stack
        bodies = [s.interview_body(),  # the contract's example: job_id, preferences
                  {k: v for k, v in s.interview_body().items() if k not in ("job_id", "preferences")}]
        full = s.interview_body()
        full["candidate"] = dict(full["candidate"], phone="+1 555 0100")
        bodies.append(full)
        for body in bodies:
            r = s.gw("POST", "/interviews", body, token=s.tenant_a["token"])
            self.assertEqual(r.status, 201, r)
            iid = r.json()["interview_id"]
            events = s.requested_events(iid)
            self.assertEqual(len(events), 1, events)
            self.assertValid("interview.requested", events[0]["value"], "interview.requested")
            self.assertValid("cloudevents-headers", events[0]["headers"], "its headers")
            self.assertEqual(events[0]["headers"]["ce_id"], iid)

    def test_demo_catalog_is_accepted(self):
        s = self.stack
        catalog = demo("catalog.json")
        self.assertValid("interview.catalog", catalog, "deploy/demo/catalog.json")
        s.publish_catalog(s.tenant_b, catalog)
        s.await_templates(s.tenant_b, catalog)
        r = s.gw("GET", "/jobs", token=s.tenant_b["token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"jobs": catalog["jobs"]})

    def test_demo_status_events_are_delivered(self):
        s = self.stack
        # One interview: pending is the starting state (served on GET, never PUT), so the only
        # PUT is the completed one.
        iid, cb, part = s.create_interview()
        for name in ("status-pending.json", "status-completed.json"):
            ev = demo(name)
            ev["interview_id"] = iid
            self.assertValid("interview.status", ev, f"deploy/demo/{name}")
            s.publish_status(ev, part)
        s.sim.wait(1, timeout=30, path=cb)
        reqs = s.sim.requests(cb)
        self.assertEqual([r["body"].get("status") for r in reqs], ["completed"], reqs)

    def test_retry_record_and_dead_letters(self):
        s = self.stack
        # A transient failure: one retry record, then delivered.
        iid, cb, part = s.create_interview()
        s.sim.script(cb, [{"status": 503}])
        s.publish_status({"interview_id": iid, "status": "completed",
                          "occurred_at": "2026-11-28T20:00:00Z"}, part)
        s.sim.wait(2, timeout=30, path=cb)
        retry = s.kcat.await_messages(s.topics["retry"], lambda m: m["key"] == iid,
                                      what=f"retry record of {iid}")
        for m in retry:
            self.assertValid("callbacks.retry", m["value"], "retry record")

        # Three kinds of dead letter: a permanent HTTP failure, an interview never created, and
        # a record that is not JSON.
        iid2, cb2, part2 = s.create_interview()
        s.sim.script(cb2, [{"status": 400}])
        s.publish_status({"interview_id": iid2, "status": "expired",
                          "occurred_at": "2026-11-28T20:00:00Z"}, part2)
        unknown = "0" * 31 + "f"
        s.publish_status({"interview_id": unknown, "status": "completed",
                          "occurred_at": "2026-11-28T20:00:00Z"})
        s.kcat.produce(s.topics["status"], "not-json", "{this is not json")
        keys = {iid2, unknown, "not-json"}
        dead = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] in keys, count=3,
                                     timeout=60, what="three dead letters")
        self.assertEqual({m["key"] for m in dead}, keys, dead)
        for m in dead:
            self.assertValid("callbacks.dlq", m["value"], f"dead letter {m['key']}")
        # Tokens never reach an event.
        for m in dead + retry:
            for t in (s.tenant_a["token"], s.tenant_a["workable_token"]):
                self.assertNotIn(t, m["raw"] or "")

    def test_state_records(self):
        """Every record the worker wrote to interviews.state in this class's scenario (every test
        delivers something; this one runs last, after one more delivery of its own with a
        shared link): the value matches interview.state (the status event plus the owner's
        tenant and the callback URL of the interview's requested event), the headers are
        CloudEvents with ce_type interview.state, the key is the interview_id. Tombstones have
        no value to check."""
        s = self.stack
        iid, cb, part = s.create_interview()
        ev = demo("status-completed.json")
        ev["interview_id"] = iid
        ev["shared_link"] = {"url": "https://provider.example/l", "ttl": 3, "ttl_units": "days"}
        s.publish_status(ev, part)
        s.sim.wait(1, timeout=30, path=cb)
        callbacks = {m["key"]: m["value"]["callback_url"] for m in s.requested_events()
                     if isinstance(m["value"], dict)}
        tenants = {s.tenant_a["id"], s.tenant_b["id"]}
        records = [m for m in s.kcat.consume_all(s.topics["state"]) if m["value"] is not None]
        # The delivery just made wrote its record (and every earlier state of the class did).
        self.assertIn(iid, {m["key"] for m in records}, "no interviews.state record of the "
                      "interview just delivered")
        for m in records:
            what = f"interviews.state record {m['key']}"
            self.assertValid("interview.state", m["value"], what)
            self.assertValid("cloudevents-headers", m["headers"], f"the headers of the {what}")
            self.assertEqual(m["headers"]["ce_type"], "interview.state", what)
            self.assertEqual(m["key"], m["value"]["interview_id"], what)
            self.assertIn(m["value"]["tenant"], tenants, what)
            self.assertEqual(m["value"]["callback_url"], callbacks.get(m["key"]), what)
        print(f"test_state_records: {len(records)} interviews.state record(s) validated",
              file=sys.stderr)

    def test_schemas_reject_what_services_refuse(self):
        """The schemas are not vacuous: a requested event without its candidate, a status the
        worker does not know."""
        ev = {"interview_id": "0" * 32, "tenant": "t", "interview_template_id": "1",
              "job_title": "x", "callback_url": "https://a.example/", "requested_at": "2026-11-28T20:00:00Z"}
        self.assertTrue(check_schemas.errors(self.v["interview.requested"], ev))
        st = copy.deepcopy(demo("status-completed.json"))
        st["status"] = "finished"
        self.assertTrue(check_schemas.errors(self.v["interview.status"], st))
        # A state record is a valid status event with its owner and callback: neither alone.
        state = dict(demo("status-completed.json"), interview_id="0" * 32, tenant="t",
                     callback_url="https://a.example/cb")
        self.assertEqual(check_schemas.errors(self.v["interview.state"], state), [])
        for drop in ("tenant", "callback_url", "occurred_at"):
            self.assertTrue(check_schemas.errors(self.v["interview.state"],
                                                 {k: v for k, v in state.items() if k != drop}),
                            drop)
        self.assertTrue(check_schemas.errors(self.v["interview.state"], dict(state, status="done")))


if __name__ == "__main__":
    unittest.main()
