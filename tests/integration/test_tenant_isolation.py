"""Tenant isolation: one tenant's token never reads another tenant's templates,
jobs, interviews or shared links, on the replica that answered the 201 (read-your-write) and on
another replica that learnt the interviews from Kafka; a template or job of the other tenant is
refused (400); the same callback_url from two tenants gives two interviews; a forged
interviews.requested record claiming another tenant's interview changes nothing.

Another tenant's id is answered exactly like an unknown id (no existence oracle).
"""

import time
import unittest

from harness import StackTestCase, await_true, completed_status_event

# The same template id "12345" and job id "6789" in both catalogs, with different names: keyed
# per tenant.
CATALOG_A = {
    "interview_templates": [{"id": "12345", "name": "A: Operations Interview"},
                            {"id": "a-only", "name": "A: Java Interview"}],
    "jobs": [{"id": "6789", "name": "A: Operations Manager"}, {"id": "a-job", "name": "A: CFO"}],
}
CATALOG_B = {
    "interview_templates": [{"id": "12345", "name": "B: Aptitude Interview"},
                            {"id": "b-only", "name": "B: Sales Interview"}],
    "jobs": [{"id": "6789", "name": "B: Account Executive"}, {"id": "b-job", "name": "B: Sales Lead"}],
}
NO_SUCH = "Not Found: no such interview"


class TenantIsolationTest(StackTestCase):
    with_worker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, CATALOG_A)
        s.publish_catalog(s.tenant_b, CATALOG_B)
        s.await_templates(s.tenant_a, CATALOG_A)
        s.await_templates(s.tenant_b, CATALOG_B)
        # A second replica: it did not answer the creations, it knows them from Kafka only.
        cls.replica = s.spawn_gateway(name="api-gateway-replica")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "replica", None) is not None:
            cls.replica.stop()
        super().tearDownClass()

    def get(self, path, tenant, svc=None):
        return self.stack.gw_at(svc or self.stack.gateway, "GET", path, token=tenant["token"])

    def post(self, tenant, body):
        return self.stack.gw("POST", "/interviews", body, token=tenant["token"])

    def await_status(self, svc, path, tenant, status):
        last = {}

        def check():
            last["r"] = self.get(path, tenant, svc)
            return last["r"].status == status
        try:
            return await_true(check, 20, f"{path} -> {status}") and last["r"]
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last {last.get('r')!r}") from None

    def assertNoSuchInterview(self, resp, unknown):
        """404 with exactly the body of an unknown id."""
        self.assertError(resp, 404, NO_SUCH)
        self.assertEqual(resp.body, unknown.body, resp)

    def test_catalog_views(self):
        s = self.stack
        for svc in (s.gateway, self.replica):
            for tenant, cat in ((s.tenant_a, CATALOG_A), (s.tenant_b, CATALOG_B)):
                with self.subTest(svc=svc.name, tenant=tenant["id"]):
                    r = self.get("/interview-templates", tenant, svc)
                    self.assertEqual((r.status, r.json()),
                                     (200, {"interview_templates": cat["interview_templates"]}), r)
                    r = self.get("/jobs", tenant, svc)
                    self.assertEqual((r.status, r.json()), (200, {"jobs": cat["jobs"]}), r)

    def test_other_tenants_template_or_job_refused(self):
        s = self.stack
        cases = [
            (s.tenant_a, {"interview_template_id": "b-only"},
             "Invalid field: interview_template_id is not a known interview template"),
            (s.tenant_b, {"interview_template_id": "a-only"},
             "Invalid field: interview_template_id is not a known interview template"),
            (s.tenant_a, {"job_id": "b-job"}, "Invalid field: job_id is not a known job"),
            (s.tenant_b, {"job_id": "a-job", "interview_template_id": "b-only"},
             "Invalid field: job_id is not a known job"),
        ]
        refused = []
        for tenant, overrides, message in cases:
            with self.subTest(tenant=tenant["id"], overrides=overrides):
                body = s.interview_body(**overrides)
                if tenant is s.tenant_b and "job_id" not in overrides:
                    body["job_id"] = "b-job"
                refused.append(body["callback_url"])
                self.assertError(self.post(tenant, body), 400, message)
        # Own template and job: accepted (the refusals above were about ownership).
        ok = self.post(s.tenant_b, s.interview_body(interview_template_id="b-only",
                                                    job_id="b-job"))
        self.assertEqual(ok.status, 201, ok)
        iid = ok.json()["interview_id"]
        s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] == iid)
        urls = {m["value"].get("callback_url") for m in s.requested_events()}
        self.assertFalse(urls & set(refused), "a refused creation left an event")

    def test_interviews_and_shared_links(self):
        s = self.stack
        a, b = s.tenant_a, s.tenant_b
        ia, _, pa = s.create_interview(a)
        ib, _, pb = s.create_interview(b)
        unknown_id = "0" * 32
        # Issued now: a shared link counts down from occurred_at and is 404 once expired.
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for iid, part in ((ia, pa), (ib, pb)):
            s.publish_status(completed_status_event(iid, now), part)
        for svc in (s.gateway, self.replica):
            for own, mine, theirs in ((a, ia, ib), (b, ib, ia)):
                with self.subTest(svc=svc.name, tenant=own["id"]):
                    # Own interview and link: served once the views have the status event.
                    r = self.await_status(svc, f"/interviews/{mine}/shared-link", own, 200)
                    self.assertEqual(r.json()["url"], "https://acme.com/interviews/2044922/link")
                    self.assertEqual(self.get(f"/interviews/{mine}", own, svc).json()["status"],
                                     "completed")
                    # The other's: exactly the answer to an unknown id, on both routes.
                    unknown = self.get(f"/interviews/{unknown_id}", own, svc)
                    self.assertError(unknown, 404, NO_SUCH)
                    self.assertNoSuchInterview(self.get(f"/interviews/{theirs}", own, svc),
                                               unknown)
                    unknown_link = self.get(f"/interviews/{unknown_id}/shared-link", own, svc)
                    self.assertNoSuchInterview(
                        self.get(f"/interviews/{theirs}/shared-link", own, svc), unknown_link)
                    self.assertNotIn(theirs.encode(), unknown.body)

    def test_same_callback_url_two_tenants(self):
        s = self.stack
        body = s.interview_body()
        ra1 = self.post(s.tenant_a, body)
        rb1 = self.post(s.tenant_b, body)
        ra2 = self.post(s.tenant_a, body)
        rb2 = self.post(s.tenant_b, body)
        for r in (ra1, rb1, ra2, rb2):
            self.assertEqual(r.status, 201, r)
        ia, ib = ra1.json()["interview_id"], rb1.json()["interview_id"]
        self.assertNotEqual(ia, ib, "two tenants, one callback_url: two interviews")
        self.assertEqual(ra2.json()["interview_id"], ia, "a retry by A: A's id")
        self.assertEqual(rb2.json()["interview_id"], ib, "a retry by B: B's id")
        events = s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] in (ia, ib),
                                       count=2)
        tenants = {m["key"]: m["value"]["tenant"] for m in events}
        self.assertEqual(tenants, {ia: s.tenant_a["id"], ib: s.tenant_b["id"]})
        for svc in (s.gateway, self.replica):
            self.await_status(svc, f"/interviews/{ia}", s.tenant_a, 200)
            self.await_status(svc, f"/interviews/{ib}", s.tenant_b, 200)
            self.assertError(self.get(f"/interviews/{ia}", s.tenant_b, svc), 404, NO_SUCH)
            self.assertError(self.get(f"/interviews/{ib}", s.tenant_a, svc), 404, NO_SUCH)

    def test_forged_requested_record_does_not_transfer_ownership(self):
        """A record on interviews.requested claiming B for A's interview id: the first owner
        stays (the id is derived from the tenant; a second owner is forged)."""
        s = self.stack
        ia, _, part = s.create_interview(s.tenant_a)
        self.await_status(self.replica, f"/interviews/{ia}", s.tenant_a, 200)
        forged = dict(s.requested_events(ia)[0]["value"], tenant=s.tenant_b["id"])
        s.kcat.produce(s.topics["requested"], ia, forged, partition=part)
        # A marker after it on the same partition: once the replica serves the marker, it has
        # applied the forged record too.
        marker, _, _ = s.create_interview(s.tenant_b, partition=part)
        self.await_status(self.replica, f"/interviews/{marker}", s.tenant_b, 200)
        self.assertError(self.get(f"/interviews/{ia}", s.tenant_b, self.replica), 404, NO_SUCH)
        self.assertEqual(self.get(f"/interviews/{ia}", s.tenant_a, self.replica).status, 200)


if __name__ == "__main__":
    unittest.main()
