"""api-gateway answers as docs/openapi.yaml says: every endpoint is called on a real
gateway (real Kafka), on its happy path and with each error status a client can reach (401
missing and invalid token, 400, 422, 404, 405, 413, 414, 415, 431, 503 while the views are not
loaded), and every response is checked against the document: its status must be listed for the
operation, its media type documented, its JSON body valid against the documented schema, and the
headers marked required present and valid. An undocumented status or a body that does not match
fails the test (OpenApiCheckerTest shows the checker failing on both).

The request bodies are checked against the documented request schema too: whatever the gateway
accepts (201) must be valid against it, and the bodies it refuses for their shape (wrong type,
missing or empty field) must be invalid against it.

jsonschema and PyYAML: the interpreter's own, else Debian's python3-jsonschema / python3-yaml
(scripts/install-deps). $refs are resolved here (local "#/..." only), so any jsonschema >= 4
with Draft202012Validator serves.
"""

import copy
import json
import os
import re
import sys
import time
import unittest

from harness import (CONTRACT_RESULT, REPO_ROOT, Response, StackTestCase, await_true,
                     completed_status_event, free_port, http_request)

try:
    import jsonschema
    import yaml
except ImportError:  # a Python other than Debian's: use Debian's packages (same minor version)
    sys.path.append("/usr/lib/python3/dist-packages")
    import jsonschema
    import yaml

OPENAPI_PATH = os.path.join(REPO_ROOT, "docs", "openapi.yaml")
JSON_MEDIA = re.compile(r"^application/(.+\+)?json$")

CATALOG_A = {
    "interview_templates": [{"id": "12345", "name": "Operations Interview"},
                            {"id": "2", "name": "Java Interview"}],
    "jobs": [{"id": "6789", "name": "Operations Manager"},
             {"id": "yec3", "name": "Treasury Manager"}],
}
CATALOG_B = {"interview_templates": [{"id": "b-1", "name": "Aptitude Interview"}]}


class OpenApi:
    """docs/openapi.yaml with its local $refs resolved, and a checker of responses."""

    def __init__(self, path=OPENAPI_PATH):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.path = path

    def pointer(self, ref):
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported here: {ref}")
        node = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def deref(self, node, depth=0):
        """node with every $ref replaced by its target (siblings of a $ref kept beside it in an
        allOf, as OpenAPI 3.1 / JSON Schema 2020-12 read them)."""
        if depth > 64:
            raise ValueError("$ref cycle in docs/openapi.yaml")
        if isinstance(node, list):
            return [self.deref(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = self.deref(self.pointer(node["$ref"]), depth + 1)
            rest = {k: self.deref(v, depth + 1) for k, v in node.items() if k != "$ref"}
            if not rest:
                return target
            return {"allOf": [target], **rest}
        return {k: self.deref(v, depth + 1) for k, v in node.items()}

    def templates(self):
        return list(self.doc["paths"])

    def template_for(self, path):
        """The path template a concrete path falls under ({x}: one non-empty segment)."""
        path = path.split("?", 1)[0]
        for t in self.doc["paths"]:
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$"
            if re.match(rx, path):
                return t
        return None

    def operations(self):
        """[(template, METHOD, operation)]"""
        out = []
        for t, item in self.doc["paths"].items():
            for m, op in item.items():
                if m in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                    out.append((t, m.upper(), op))
        return out

    def operation(self, template, method):
        return (self.doc["paths"].get(template) or {}).get(method.lower())

    def request_schema(self, template, method):
        op = self.deref(self.operation(template, method))
        return op["requestBody"]["content"]["application/json"]["schema"]

    # -- checking ----------------------------------------------------------------------------

    def response_problems(self, resp, documented, where):
        """Problems of resp against a documented Response Object (resolved)."""
        problems = []
        body = resp.body or b""
        ctype = resp.headers.get("Content-Type")
        media = ctype.split(";", 1)[0].strip().lower() if ctype else None
        content = documented.get("content") or {}
        if media is None and body.lstrip().lower().startswith(b"<html"):
            media = "text/html"  # libmicrohttpd's own answers carry no Content-Type
        if content:
            if media not in content:
                problems.append(f"{where}: media type {media!r} not documented "
                                f"(documented: {sorted(content)})")
            elif JSON_MEDIA.match(media):
                try:
                    instance = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    problems.append(f"{where}: body is not JSON ({exc}): {body[:200]!r}")
                else:
                    schema = content[media].get("schema")
                    if schema is not None:
                        v = jsonschema.Draft202012Validator(
                            schema, format_checker=jsonschema.FormatChecker())
                        for e in sorted(v.iter_errors(instance), key=lambda e: list(e.path)):
                            loc = "/".join(map(str, e.absolute_path)) or "(root)"
                            problems.append(f"{where}: body {loc}: {e.message}")
            elif media.startswith("text/"):
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:
                    problems.append(f"{where}: {media} body is not UTF-8")
        elif body:
            problems.append(f"{where}: a body ({media}) where none is documented")
        for name, h in (documented.get("headers") or {}).items():
            value = resp.headers.get(name)
            if value is None:
                if h.get("required"):
                    problems.append(f"{where}: required header {name} missing")
                continue
            schema = h.get("schema")
            if schema is None:
                continue
            inst = value
            if schema.get("type") == "integer":
                inst = int(value) if re.fullmatch(r"-?\d+", value) else value
            for e in jsonschema.Draft202012Validator(schema).iter_errors(inst):
                problems.append(f"{where}: header {name}: {value!r}: {e.message}")
        return problems

    def check(self, resp, method, template):
        """AssertionError unless resp is a documented answer of (method, template)."""
        where = f"{method} {template} -> {resp.status}"
        op = self.operation(template, method)
        if op is None:
            raise AssertionError(f"{where}: no such operation in {self.path}")
        responses = op["responses"]
        key = str(resp.status)
        if key not in responses:
            key = f"{resp.status // 100}XX"
        if key not in responses:
            raise AssertionError(f"{where}: status {resp.status} is not documented for "
                                 f"{method} {template} (documented: {sorted(responses)}); "
                                 f"got {resp!r}")
        problems = self.response_problems(resp, self.deref(responses[key]), where)
        if problems:
            raise AssertionError("\n".join(problems) + f"\ngot {resp!r}")

    def check_component(self, resp, name):
        where = f"components/responses/{name} ({resp.status})"
        problems = self.response_problems(
            resp, self.deref(self.doc["components"]["responses"][name]), where)
        if problems:
            raise AssertionError("\n".join(problems) + f"\ngot {resp!r}")

    def schema_errors(self, schema, instance):
        v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in v.iter_errors(instance)]


def fake(status, body, headers=None):
    """A Response as http_request returns it (for the checker's own test)."""
    import email.message
    msg = email.message.Message()
    for k, v in (headers or {}).items():
        msg[k] = v
    return Response(status, msg, body if isinstance(body, bytes) else json.dumps(body).encode())


class OpenApiCheckerTest(unittest.TestCase):
    """The checker without a gateway: it refuses what it must (else the live test proves
    nothing), and the document's own examples pass it."""

    spec = OpenApi()
    JSON = {"Content-Type": "application/json", "X-Request-Id": "r1"}

    def test_every_gateway_route_is_documented(self):
        """api-gateway/src/routes.c's table, read from the source: the same paths and methods
        (the rows served on the public port; /metrics is on the operations listener only)."""
        with open(os.path.join(REPO_ROOT, "api-gateway", "src", "routes.c"),
                  encoding="utf-8") as f:
            rows = re.findall(r'\{"(/[^"]*)", "([A-Z]+)", GW_ROUTE_([^}]*)\}', f.read())
            routes = {(path, method) for path, method, rest in rows if "GW_ON_PUBLIC" in rest}
        self.assertIn(("/metrics", "GET"), {(p, m) for p, m, _ in rows})
        documented = {(t, m) for t, m, _ in self.spec.operations()}
        self.assertTrue(routes)
        self.assertEqual(routes, documented)

    def test_undocumented_status_fails(self):
        with self.assertRaisesRegex(AssertionError, "not documented"):
            self.spec.check(fake(418, {"status": 418, "message": "teapot"}, self.JSON),
                            "GET", "/interview-templates")
        with self.assertRaisesRegex(AssertionError, "not documented"):
            self.spec.check(fake(413, {"status": 413, "message": "x"}, self.JSON),
                            "GET", "/healthz")

    def test_body_not_matching_fails(self):
        with self.assertRaisesRegex(AssertionError, "body"):
            self.spec.check(fake(401, {"status": "401", "message": "Invalid Token"},
                                 dict(self.JSON, **{"WWW-Authenticate": "Bearer"})),
                            "GET", "/interview-templates")
        with self.assertRaisesRegex(AssertionError, "body"):
            self.spec.check(fake(200, {"interview_templates": [{"id": 1, "name": "x"}]},
                                 self.JSON), "GET", "/interview-templates")
        with self.assertRaisesRegex(AssertionError, "body"):
            self.spec.check(fake(200, {"status": "completed", "interview": {"score": 78}},
                                 self.JSON), "GET", "/interviews/{id}")
        with self.assertRaisesRegex(AssertionError, "media type"):
            self.spec.check(fake(200, b"ok", {"Content-Type": "text/plain", "X-Request-Id": "r"}),
                            "GET", "/healthz")

    def test_missing_required_header_fails(self):
        with self.assertRaisesRegex(AssertionError, "Retry-After"):
            self.spec.check(fake(503, {"status": 503, "message": "Not ready"}, self.JSON),
                            "GET", "/jobs")
        with self.assertRaisesRegex(AssertionError, "WWW-Authenticate"):
            self.spec.check(fake(401, {"status": 401, "message": "Missing Token"}, self.JSON),
                            "POST", "/interviews")

    def test_examples_pass_the_checker(self):
        """Each documented JSON example, as a response, passes (the document agrees with
        itself; scripts/check-deploy checks the same with another implementation)."""
        n = 0
        for template, method, op in self.spec.operations():
            for status, r in self.spec.deref(op["responses"]).items():
                media = (r.get("content") or {}).get("application/json")
                if media is None:
                    continue
                values = [media["example"]] if "example" in media else []
                values += [e["value"] for e in (media.get("examples") or {}).values()]
                for value in values:
                    headers = dict(self.JSON)
                    for name, h in (r.get("headers") or {}).items():
                        if h.get("required") and name not in headers:
                            headers[name] = {"Retry-After": "5", "WWW-Authenticate": "Bearer",
                                             "Allow": "GET"}[name]
                    self.spec.check(fake(int(status), value, headers), method, template)
                    n += 1
        self.assertGreater(n, 20)


class OpenApiGatewayTest(StackTestCase):
    """Every endpoint of a real gateway against docs/openapi.yaml."""

    with_worker = False
    spec = OpenApi()
    seen = set()  # (template, METHOD, status) answered and checked
    ran = set()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, CATALOG_A)
        s.publish_catalog(s.tenant_b, CATALOG_B)
        s.await_templates(s.tenant_a, CATALOG_A)
        s.await_templates(s.tenant_b, CATALOG_B)

    def setUp(self):
        self.ran.add(self._testMethodName)

    # -- helpers -----------------------------------------------------------------------------

    def call(self, method, path, body=None, token="A", headers=None, template=None, svc=None):
        """One request, checked against the document; returns the Response."""
        s = self.stack
        hdrs = dict(headers or {})
        token = {"A": s.tenant_a["token"], "B": s.tenant_b["token"]}.get(token, token)
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        base = (svc or s.gateway).base
        r = http_request(base, method, path, body, hdrs)
        template = template or self.spec.template_for(path)
        self.assertIsNotNone(template, f"{path}: no documented path")
        if self.spec.operation(template, method) is None:
            # Another method on a documented path: the 405 documented on its operations.
            self.assertEqual(r.status, 405, r)
            allowed = [m for t, m, _ in self.spec.operations() if t == template]
            self.spec.check(r, allowed[0], template)
            self.assertEqual(r.headers.get("Allow"), ", ".join(allowed), r)
            self.seen.add((template, "*", r.status))
        else:
            self.spec.check(r, method, template)
            self.seen.add((template, method, r.status))
        return r

    def post(self, body, status, token="A", headers=None, shape_error=False):
        """POST /interviews; status expected. The body against the documented request schema:
        valid when accepted (201); invalid when refused for its shape (shape_error)."""
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        r = self.call("POST", "/interviews", body, token=token, headers=hdrs)
        self.assertEqual(r.status, status, r)
        if isinstance(body, (bytes, str)):
            return r
        schema = self.spec.request_schema("/interviews", "POST")
        # The harness runs with ALLOW_INSECURE_CALLBACKS=1 (http sim on loopback): the document
        # describes production, https only.
        doc_body = copy.deepcopy(body)
        if isinstance(doc_body, dict) and isinstance(doc_body.get("callback_url"), str):
            doc_body["callback_url"] = re.sub(r"^http://", "https://", doc_body["callback_url"])
        errors = self.spec.schema_errors(schema, doc_body)
        if status == 201:
            self.assertEqual(errors, [], f"accepted, but invalid against the request schema: "
                                         f"{json.dumps(body)[:300]}")
        if shape_error:
            self.assertTrue(errors, f"refused ({r.status}), but valid against the request "
                                    f"schema: {json.dumps(body)[:300]}")
        return r

    def body(self, **overrides):
        return self.stack.interview_body(**overrides)

    # -- operations --------------------------------------------------------------------------

    def test_operations_endpoints(self):
        self.assertEqual(self.call("GET", "/healthz", token=None).json(), {"status": "ok"})
        self.assertEqual(self.call("GET", "/readyz", token=None).json(), {"status": "ready"})
        # /metrics is not part of the public API: on the operations listener only.
        r = http_request(self.stack.gateway.base, "GET", "/metrics")
        self.assertEqual(r.status, 404, r)
        self.spec.check_component(r, "NotFound")
        r = self.stack.gw_ops("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertRegex(r.body, rb"(?m)^# TYPE [a-z_:][a-z0-9_:]* (counter|gauge|histogram)$")
        for path, want in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
            r = self.stack.gw_ops("GET", path)
            self.assertEqual((r.status, r.json()), (200, want), r)
        for path in ("/interview-templates", "/interviews/" + "0" * 32):
            self.assertEqual(self.stack.gw_ops("GET", path).status, 404, path)

    # -- listings ----------------------------------------------------------------------------

    def test_interview_templates(self):
        r = self.call("GET", "/interview-templates")
        self.assertEqual(r.json(), {"interview_templates": CATALOG_A["interview_templates"]})
        self.assertEqual(self.call("GET", "/interview-templates", token="B").status, 200)

    def test_jobs(self):
        r = self.call("GET", "/jobs")
        self.assertEqual(r.json(), {"jobs": CATALOG_A["jobs"]})
        self.assertEqual(self.call("GET", "/jobs", token="B").status, 404)  # no jobs list

    # -- authentication ----------------------------------------------------------------------

    def test_unauthorized_everywhere(self):
        iid = "0" * 32
        for method, path in (("GET", "/interview-templates"), ("GET", "/jobs"),
                             ("POST", "/interviews"), ("GET", f"/interviews/{iid}"),
                             ("GET", f"/interviews/{iid}/shared-link")):
            body = self.body() if method == "POST" else None
            for token, message in ((None, "Missing Token"), ("not-a-token", "Invalid Token")):
                with self.subTest(method=method, path=path, token=token):
                    r = self.call(method, path, body, token=token)
                    self.assertEqual(r.json(), {"status": 401, "message": message}, r)
            r = self.call(method, path, body, token=None, headers={"Authorization": "Basic eA=="})
            self.assertEqual(r.status, 401, r)

    # -- POST /interviews --------------------------------------------------------------------

    def test_create_accepted_bodies(self):
        """The contract's body and the variants the document allows: each 201."""
        s = self.stack
        minimal = self.body()
        for k in ("job_id", "preferences"):
            del minimal[k]
        del minimal["candidate"]["phone"]
        nulls = self.body(job_id=None, preferences=None)
        nulls["candidate"]["phone"] = None
        # A Workable candidate may have no last name and no phone; an address RFC 5321 allows.
        first_and_email = self.body(candidate={"first_name": "Cher",
                                               "email": "\"cher fan\"@example.com"})
        for name, body in (("contract", self.body()),
                           ("minimal", minimal),
                           ("integer ids", self.body(interview_template_id=12345, job_id=6789)),
                           ("integral real id", self.body(interview_template_id=12345.0)),
                           ("nulls for optional fields", nulls),
                           ("first name and email only", first_and_email),
                           ("unknown key ignored", self.body(extra={"a": 1}))):
            with self.subTest(name):
                r = self.post(body, 201)
                iid = r.json()["interview_id"]
                s.kcat.await_messages(s.topics["requested"], lambda m, i=iid: m["key"] == i,
                                      what=f"interviews.requested event of {iid}")
        # No Content-Type at all is read as JSON; a charset parameter is ignored.
        r = self.call("POST", "/interviews", json.dumps(self.body()).encode())
        self.assertEqual(r.status, 201, r)
        r = self.post(self.body(), 201, headers={"Content-Type": "application/json; charset=utf-8"})

    def test_create_bad_request(self):
        def with_candidate(**kw):
            b = self.body()
            b["candidate"].update(kw)
            return b
        self.assertEqual(self.post(b'{"interview_template_id": "12345", ', 400).json()["message"],
                         "Invalid JSON")
        self.post(b"", 400)
        self.post([self.body()], 400, shape_error=True)
        for name, body in (("job_title a number", self.body(job_title=42)),
                           ("template id a boolean", self.body(interview_template_id=True)),
                           ("callback_url a list", self.body(callback_url=["x"])),
                           ("candidate a string", self.body(candidate="Lakita")),
                           ("email a number", with_candidate(email=12)),
                           ("email not an address", with_candidate(email="not-an-email")),
                           ("preferences a list", self.body(preferences=[1])),
                           ("job_title too long", self.body(job_title="x" * 1025)),
                           ("callback_url not a URL", self.body(callback_url="not a url"))):
            with self.subTest(name):
                r = self.post(body, 400, shape_error=True)
                self.assertTrue(r.json()["message"].startswith("Invalid field: "), r)

    def test_create_unprocessable(self):
        def without(key, candidate=False):
            b = self.body()
            del (b["candidate"] if candidate else b)[key]
            return b
        for name, body in (("no job_title", without("job_title")),
                           ("no candidate", without("candidate")),
                           ("no callback_url", without("callback_url")),
                           ("no template id", without("interview_template_id")),
                           ("no first_name", without("first_name", candidate=True)),
                           ("empty job_title", self.body(job_title="")),
                           ("null template id", self.body(interview_template_id=None))):
            with self.subTest(name):
                r = self.post(body, 422, shape_error=True)
                self.assertTrue(r.json()["message"].startswith("Missing field: "), r)
        # Valid in shape, refused for the account: an invalid field, 400 (the page pairs
        # "Invalid field" with 400 and keeps 422 for "Missing field").
        for name, body in (("unknown template", self.body(interview_template_id="nope")),
                           ("unknown job", self.body(job_id="nope")),
                           ("callback host not allowed",
                            self.body(callback_url="https://evil.example/cb")),
                           ("user information",
                            self.body(callback_url="https://u:p@localhost/cb"))):
            with self.subTest(name):
                r = self.post(body, 400)
                self.assertTrue(r.json()["message"].startswith("Invalid field: "), r)
        self.post(self.body(), 400, token="B")  # A's template

    def test_create_too_large_and_wrong_media_type(self):
        r = self.post(self.body(preferences={"blob": "x" * (70 * 1024)}), 413)
        self.assertEqual(r.json()["status"], 413)
        self.post(json.dumps(self.body()).encode(), 415, headers={"Content-Type": "text/plain"})
        self.post(json.dumps(self.body()).encode(), 415,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})

    def test_create_over_quota(self):
        """The documented 429 (with Retry-After), from a replica with a quota of one."""
        s = self.stack
        svc = s.spawn_gateway(env={"GATEWAY_CREATE_RATE": "1", "GATEWAY_CREATE_BURST": "1"},
                              name="api-gateway-quota")
        try:
            hdrs = {"Content-Type": "application/json"}
            answers = [self.call("POST", "/interviews", self.body(), headers=hdrs, svc=svc)
                       for _ in range(3)]
            self.assertEqual(answers[0].status, 201, answers[0])
            self.assertIn(429, [r.status for r in answers[1:]])
        finally:
            svc.stop()

    # -- GET /interviews/{id} and /shared-link -----------------------------------------------

    def test_interview_and_shared_link(self):
        s = self.stack
        iid, _, partition = s.create_interview(s.tenant_a)
        r = self.call("GET", f"/interviews/{iid}")
        self.assertEqual(r.json(), {"status": "pending"}, r)
        self.assertEqual(self.call("GET", f"/interviews/{iid}/shared-link").status, 404)

        # Issued now: its 120 minutes count down from occurred_at (404 once passed).
        s.publish_status(completed_status_event(
            iid, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), partition)

        def completed():
            r = self.call("GET", f"/interviews/{iid}")
            return r.status == 200 and r.json() == CONTRACT_RESULT
        await_true(completed, 20, "GET /interviews/{id} to serve the completed result",
                   interval=0.2)
        r = self.call("GET", f"/interviews/{iid}/shared-link")
        self.assertIn(r.json(), [{"url": "https://acme.com/interviews/2044922/link",
                                  "ttl": t, "ttl_units": "minutes"} for t in ("119", "120")], r)
        # Another account's interview, unknown and malformed ids: 404 on both.
        for path in (f"/interviews/{iid}", f"/interviews/{iid}/shared-link"):
            self.assertEqual(self.call("GET", path, token="B").status, 404)
        for bad in ("0" * 32, "2044922", "x" * 64):
            for path in (f"/interviews/{bad}", f"/interviews/{bad}/shared-link"):
                with self.subTest(path=path):
                    self.assertEqual(self.call("GET", path).status, 404)
        # An id segment past 64 characters matches no route: the same 404.
        r = self.call("GET", "/interviews/" + "x" * 65, template="/interviews/{id}")
        self.assertEqual(r.status, 404, r)

    # -- routing, limits ---------------------------------------------------------------------

    def test_method_not_allowed_on_every_path(self):
        for method, path in (("DELETE", "/interviews"), ("GET", "/interviews"),
                             ("POST", "/interview-templates"), ("PUT", "/jobs"),
                             ("PUT", "/interviews/" + "0" * 32),
                             ("DELETE", "/interviews/abc/shared-link"),
                             ("POST", "/healthz"), ("POST", "/readyz")):
            with self.subTest(method=method, path=path):
                self.call(method, path, {} if method in ("POST", "PUT") else None)

    def test_unknown_path(self):
        auth = {"Authorization": f"Bearer {self.stack.tenant_a['token']}"}
        for path in ("/no-such-endpoint", "/interviews/a/b", "/"):
            with self.subTest(path=path):
                r = http_request(self.stack.gateway.base, "GET", path, headers=auth)
                self.assertEqual(r.status, 404, r)
                self.spec.check_component(r, "NotFound")

    def test_uri_and_header_limits(self):
        # The gateway's own limits (JSON errors)...
        self.assertEqual(self.call("GET", "/interviews/" + "a" * 3000).status, 414)
        r = self.call("GET", "/interview-templates", headers={"X-Big": "a" * 20000})
        self.assertEqual(r.status, 431, r)
        self.assertEqual(r.json()["status"], 431)
        # ...and libmicrohttpd's, past the connection's buffer (HTML, no Content-Type).
        self.assertEqual(self.call("GET", "/interviews/" + "a" * 70000).status, 414)
        r = self.call("GET", "/interview-templates", headers={"X-Big": "a" * 200000})
        self.assertEqual(r.status, 431, r)

    def test_unavailable_while_views_not_loaded(self):
        """A replica that cannot reach Kafka: alive, not ready, and every Workable endpoint 503
        with Retry-After (documented under each operation)."""
        s = self.stack
        dead = f"127.0.0.1:{free_port()}"
        svc = s.spawn_gateway(env={"KAFKA_BOOTSTRAP_SERVERS": dead}, wait=False,
                              name="api-gateway-no-kafka")
        try:
            def alive():
                try:
                    return http_request(svc.base, "GET", "/healthz", timeout=3).status == 200
                except OSError:
                    return False
            await_true(alive, 20, "the replica without Kafka to answer /healthz")
            self.assertEqual(self.call("GET", "/healthz", token=None, svc=svc).status, 200)
            self.assertEqual(self.call("GET", "/readyz", token=None, svc=svc).status, 503)
            self.assertEqual(s.gw_ops("GET", "/metrics", svc=svc).status, 200)
            iid = "0" * 32
            for method, path in (("GET", "/interview-templates"), ("GET", "/jobs"),
                                 ("POST", "/interviews"), ("GET", f"/interviews/{iid}"),
                                 ("GET", f"/interviews/{iid}/shared-link")):
                with self.subTest(method=method, path=path):
                    body = self.body() if method == "POST" else None
                    r = self.call(method, path, body, svc=svc)
                    self.assertEqual(r.status, 503, r)
        finally:
            svc.stop()

    # -- coverage ----------------------------------------------------------------------------

    def test_zz_every_operation_and_status_exercised(self):
        """Runs last (unittest sorts by name): what the tests above answered covers every
        operation's success status and each error status a client can reach."""
        others = {n for n in dir(self) if n.startswith("test_") and n != self._testMethodName}
        if not others <= self.ran:
            self.skipTest("only meaningful after the whole class ran")
        missing = []
        for template, method, op in self.spec.operations():
            ok = [st for st in op["responses"] if st.startswith("2")]
            if not any((template, method, int(st)) in self.seen for st in ok):
                missing.append(f"{method} {template}: none of {ok} answered")
            if not any(t == template and m == "*" and st == 405 for t, m, st in self.seen):
                missing.append(f"{template}: no 405 answered")
        statuses = {st for _, _, st in self.seen}
        for st in (200, 201, 400, 401, 404, 405, 413, 414, 415, 422, 431, 503):
            if st not in statuses:
                missing.append(f"status {st} never answered")
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
