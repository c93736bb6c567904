"""api-gateway over HTTP: every contract error with its exact status and body; tenant isolation.

Errors are {"status": N, "message": "..."} with Content-Type application/json (contract
"Errors" table and docs/DESIGN.md "The HTTP surface").
"""

import json
import unittest

from harness import StackTestCase, await_true, sha256_hex

CATALOG_A = {
    "interview_templates": [{"id": "12345", "name": "Operations Interview"},
                            {"id": "2", "name": "Java Interview"}],
    "jobs": [{"id": "6789", "name": "Operations Manager"},
             {"id": "yec3", "name": "Treasury Manager"}],
}
CATALOG_B = {
    "interview_templates": [{"id": "b-1", "name": "Aptitude Interview"}],
}


class HttpErrorsTest(StackTestCase):
    with_worker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, CATALOG_A)
        s.publish_catalog(s.tenant_b, CATALOG_B)
        s.await_templates(s.tenant_a, CATALOG_A)
        s.await_templates(s.tenant_b, CATALOG_B)

    def post(self, body, token="A", headers=None):
        s = self.stack
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        if token == "A":
            token = s.tenant_a["token"]
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        return s.gw("POST", "/interviews", body, headers=hdrs)

    def body(self, **overrides):
        return self.stack.interview_body(**overrides)

    def assertNoSecrets(self, resp):
        for t in (self.stack.tenant_a, self.stack.tenant_b):
            self.assertNotIn(t["token"].encode(), resp.body)
            self.assertNotIn(t["workable_token"].encode(), resp.body)

    # -- operations ---------------------------------------------------------------------------

    def test_healthz(self):
        r = self.stack.gw("GET", "/healthz")
        self.assertEqual(r.status, 200, r)

    def test_readyz(self):
        self.assertEqual(self.stack.gw("GET", "/readyz").status, 200)

    # -- authentication -----------------------------------------------------------------------

    def test_missing_token(self):
        r = self.stack.gw("GET", "/interview-templates")
        self.assertError(r, 401, "Missing Token")
        r = self.post(self.body(), token=None)
        self.assertError(r, 401, "Missing Token")

    def test_invalid_token(self):
        r = self.stack.gw("GET", "/interview-templates", token="not-a-token")
        self.assertError(r, 401, "Invalid Token")
        r = self.post(self.body(), token="not-a-token")
        self.assertError(r, 401, "Invalid Token")
        # The token's SHA-256 (what the tenants file stores) is not itself a token.
        r = self.stack.gw("GET", "/interview-templates",
                          token=sha256_hex(self.stack.tenant_a["token"]))
        self.assertError(r, 401, "Invalid Token")

    def test_non_bearer_scheme(self):
        for value in ("Basic xyz", f"Basic {self.stack.tenant_a['token']}",
                      self.stack.tenant_a["token"], "Bearer"):
            with self.subTest(authorization=value):
                r = self.stack.gw("GET", "/interview-templates",
                                  headers={"Authorization": value})
                body = self.assertError(r, 401)
                self.assertIn(body["message"], ("Missing Token", "Invalid Token"), r)
                self.assertNoSecrets(r)

    # -- body validation ----------------------------------------------------------------------

    def test_malformed_json(self):
        r = self.post(b'{"interview_template_id": "12345", ')
        self.assertError(r, 400, "Invalid JSON")
        # The contract's own example, trailing comma included, is not JSON.
        text = json.dumps(self.body(), indent=2).replace(
            '"lakita_marrero@gmail.com"', '"lakita_marrero@gmail.com",')
        self.assertIn('gmail.com",\n', text)
        self.assertError(self.post(text.encode()), 400, "Invalid JSON")

    def test_empty_body(self):
        self.assertError(self.post(b""), 400, "Invalid JSON")

    def test_duplicate_keys(self):
        text = json.dumps(self.body())
        dup = text.replace('"job_title": ', '"job_title": "First", "job_title": ', 1)
        self.assertIn('"job_title": "First", "job_title": ', dup)
        self.assertError(self.post(dup.encode()), 400, "Invalid JSON")
        # ...also inside a nested object.
        dup2 = text.replace('"first_name": ', '"first_name": "X", "first_name": ', 1)
        self.assertError(self.post(dup2.encode()), 400, "Invalid JSON")

    def test_invalid_utf8(self):
        raw = json.dumps(self.body()).encode().replace(b"Marrero", b"Marr\xff\xfero")
        self.assertError(self.post(raw), 400, "Invalid JSON")

    def test_wrong_type_fields(self):
        cases = [
            ({"job_title": 42}, "Invalid field: job_title should be a string"),
            ({"callback_url": ["x"]}, "Invalid field: callback_url should be a string"),
        ]
        for override, message in cases:
            with self.subTest(override=override):
                self.assertError(self.post(self.body(**override)), 400, message)
        body = self.body()
        body["candidate"]["email"] = 12
        self.assertError(self.post(body), 400, "Invalid field: candidate.email should be a string")

    def test_missing_fields(self):
        body = self.body()
        del body["callback_url"]
        self.assertError(self.post(body), 422, "Missing field: callback_url should be provided")
        body = self.body()
        del body["job_title"]
        self.assertError(self.post(body), 422, "Missing field: job_title should be provided")
        body = self.body()
        del body["candidate"]["first_name"]
        self.assertError(self.post(body), 422,
                         "Missing field: candidate.first_name should be provided")
        body = self.body()
        del body["candidate"]
        self.assertError(self.post(body), 422, "Missing field: candidate should be provided")

    def test_unknown_template(self):
        r = self.post(self.body(interview_template_id="no-such-template"))
        self.assertError(r, 400,
                         "Invalid field: interview_template_id is not a known interview template")

    def test_invalid_is_400_missing_is_422(self):
        """The page pairs them: "Invalid field: ..." is 400 (an unknown template or job and a
        refused callback_url included), 422 is only "Missing field: ..."."""
        cases = [
            ({"interview_template_id": "nope"},
             "Invalid field: interview_template_id is not a known interview template"),
            ({"job_id": "no-such-job"}, "Invalid field: job_id is not a known job"),
            ({"callback_url": "https://evil.example/cb"},
             "Invalid field: callback_url host is not allowed for this account"),
            ({"callback_url": "ftp://localhost/cb"}, "Invalid field: callback_url should use https"),
            ({"callback_url": "https://u:p@localhost/cb"},
             "Invalid field: callback_url must not contain user information"),
        ]
        for override, message in cases:
            with self.subTest(override=override):
                self.assertError(self.post(self.body(**override)), 400, message)
        body = self.body()
        del body["candidate"]["email"]
        self.assertError(self.post(body), 422, "Missing field: candidate.email should be provided")

    def test_candidate_as_workable_sends_it(self):
        """No last name, no phone, an address RFC 5321 allows: created, and the event carries
        the candidate as sent."""
        s = self.stack
        for email in ("\"john doe\"@example.com", "a@b", "user@[192.0.2.1]", "o'neil@example.ie"):
            body = self.body()
            body["candidate"] = {"first_name": "Cher", "email": email}
            with self.subTest(email=email):
                r = self.post(body)
                self.assertEqual(r.status, 201, r)
                iid = r.json()["interview_id"]
                ev = s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] == iid)
                self.assertEqual(ev[0]["value"]["candidate"],
                                 {"first_name": "Cher", "email": email})

    def test_body_too_large(self):
        body = self.body(preferences={"blob": "x" * (70 * 1024)})
        r = self.post(body)
        self.assertError(r, 413)

    def test_wrong_content_type(self):
        r = self.post(json.dumps(self.body()).encode(), headers={"Content-Type": "text/plain"})
        self.assertError(r, 415)

    def test_rejected_requests_produce_no_event(self):
        """Requests answered with an error leave nothing in interviews.requested."""
        s = self.stack
        bad_urls = []

        def bad(status, body, **kw):
            bad_urls.append(body["callback_url"])
            r = self.post(body, **kw)
            self.assertEqual(r.status, status, r)
        bad(401, self.body(), token=None)
        bad(401, self.body(), token="wrong")
        bad(400, self.body(job_title=1))
        bad(400, self.body(interview_template_id="nope"))
        b = self.body()
        del b["candidate"]["email"]
        bad(422, b)
        good = self.body()
        r = self.post(good)
        self.assertEqual(r.status, 201, r)
        iid = r.json()["interview_id"]
        events = s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] == iid)
        self.assertEqual(events[0]["value"]["callback_url"], good["callback_url"])
        urls = {m["value"].get("callback_url") for m in s.requested_events()
                if isinstance(m["value"], dict)}
        self.assertFalse(urls & set(bad_urls), urls & set(bad_urls))

    # -- routing ------------------------------------------------------------------------------

    def test_trailing_slash(self):
        """A client writing GET /interview-templates/ or POST /interviews/ reaches the route."""
        s = self.stack
        r = s.gw("GET", "/interview-templates/", token=s.tenant_a["token"])
        self.assertEqual((r.status, r.json()),
                         (200, {"interview_templates": CATALOG_A["interview_templates"]}), r)
        r = s.gw("POST", "/interviews/", self.body(), token=s.tenant_a["token"])
        self.assertEqual(r.status, 201, r)
        iid = r.json()["interview_id"]
        s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] == iid)
        self.assertError(s.gw("GET", "/healthz/"), 404)

    def test_unknown_path(self):
        r = self.stack.gw("GET", "/no-such-endpoint", token=self.stack.tenant_a["token"])
        self.assertError(r, 404)

    def test_wrong_method(self):
        token = self.stack.tenant_a["token"]
        r = self.stack.gw("DELETE", "/interviews", token=token)
        self.assertError(r, 405)
        self.assertIn("POST", r.headers.get("Allow", ""), r)
        r = self.stack.gw("POST", "/interview-templates", {}, token=token)
        self.assertError(r, 405)
        self.assertIn("GET", r.headers.get("Allow", ""), r)
        self.assertNotIn("POST", r.headers.get("Allow", ""), r)

    # -- listings and tenant isolation ---------------------------------------------------------

    def test_tenant_isolation_templates(self):
        s = self.stack
        ra = s.gw("GET", "/interview-templates", token=s.tenant_a["token"])
        rb = s.gw("GET", "/interview-templates", token=s.tenant_b["token"])
        self.assertEqual(ra.json(), {"interview_templates": CATALOG_A["interview_templates"]})
        self.assertEqual(rb.json(), {"interview_templates": CATALOG_B["interview_templates"]})
        # B cannot create an interview from A's template.
        r = self.post(self.body(), token=s.tenant_b["token"])
        self.assertError(r, 400)

    def test_tenant_isolation_interview(self):
        s = self.stack
        r = self.post(self.body())
        self.assertEqual(r.status, 201, r)
        iid = r.json()["interview_id"]
        rb = s.gw("GET", f"/interviews/{iid}", token=s.tenant_b["token"])
        self.assertError(rb, 404)

    def test_jobs_listing(self):
        s = self.stack
        r = s.gw("GET", "/jobs", token=s.tenant_a["token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"jobs": CATALOG_A["jobs"]})


class BasePathTest(StackTestCase):
    """GATEWAY_BASE_PATH=/workable: Workable's endpoints under /workable/..., with or without a
    trailing slash; the operations endpoints at the root; nothing of the API at the root."""
    with_worker = False
    gateway_env = {"GATEWAY_BASE_PATH": "/workable/"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, CATALOG_A)

    def test_api_under_the_base_path(self):
        s = self.stack
        token = s.tenant_a["token"]
        want = {"interview_templates": CATALOG_A["interview_templates"]}
        await_true(lambda: s.gw("GET", "/workable/interview-templates", token=token).json() == want,
                   20, "GET /workable/interview-templates to serve the published catalog",
                   interval=0.2)
        r = s.gw("GET", "/workable/interview-templates", token=token)
        self.assertEqual(r.json(), {"interview_templates": CATALOG_A["interview_templates"]})
        r = s.gw("GET", "/workable/interview-templates/", token=token)
        self.assertEqual(r.status, 200, r)
        r = s.gw("POST", "/workable/interviews/", s.interview_body(), token=token)
        self.assertEqual(r.status, 201, r)
        iid = r.json()["interview_id"]
        s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] == iid)
        for path in ("/interview-templates", "/workable", "/workable/healthz"):
            with self.subTest(path=path):
                self.assertError(s.gw("GET", path, token=token), 404)
        self.assertError(s.gw("POST", "/interviews", s.interview_body(), token=token), 404)
        for path in ("/healthz", "/readyz", "/metrics"):
            with self.subTest(path=path):
                self.assertEqual(s.gw("GET", path).status, 200, path)

    def assertError(self, resp, status):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.json()["status"], status, resp)


if __name__ == "__main__":
    unittest.main()
