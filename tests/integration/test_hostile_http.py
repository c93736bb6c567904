"""api-gateway under hostile HTTP input: the table tests/data/hostile_http.json.

Each row is sent raw over its own socket (no HTTP client library to tidy it up) and its answer
checked: status, the contract's JSON error body and exact message where the contract fixes it,
libmicrohttpd's own answer where the framing is refused before any handler runs, whether the
connection is closed, and, for a 201, that the interviews.requested event carries exactly what
was sent. After every row the gateway must still answer GET /healthz. Prints the number of
inputs tried and their outcome classes.

Waiting is on events (an answer, a socket closing) against deadlines; the only pauses are the
slow client's own pacing of trickled bytes, which is the behaviour under test.
"""

import base64
import collections
import copy
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import unittest

from harness import REPO_ROOT, StackTestCase, sha256_hex

TABLE_PATH = os.path.join(REPO_ROOT, "tests", "data", "hostile_http.json")
with open(TABLE_PATH, encoding="utf-8") as _f:
    TABLE = json.load(_f)

CATALOG_B = {"interview_templates": [{"id": "b-1", "name": "Aptitude Interview"}]}


def read_response(sock, timeout):
    """One HTTP/1.1 response (Content-Length framed): (status, headers dict lower-cased, body),
    None when the peer closed (or reset) before a whole head arrived, "timeout" when nothing
    came within timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), v.strip())
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split(" ", 2)[1]), headers, body[:n]
    except socket.timeout:
        return "timeout" if not data else None
    except (ConnectionResetError, BrokenPipeError):
        return None


def closed_by_peer(sock, timeout):
    """True once the peer closed (EOF or reset) within timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return False
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True


def chunked(body, size, ext=False):
    out = b""
    for i in range(0, len(body), size):
        c = body[i:i + size]
        out += b"%x" % len(c) + (b";name=value" if ext else b"") + b"\r\n" + c + b"\r\n"
    return out + b"0\r\n\r\n"


def set_path(obj, dotted, value):
    keys = dotted.split(".")
    for k in keys[:-1]:
        obj = obj[k]
    obj[keys[-1]] = value


def get_path(obj, dotted):
    for k in dotted.split("."):
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


def id_text(v):
    """An id as the gateway normalises it: integral numbers as their decimal string."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return str(int(v))
    return v


class HostileHttpTest(StackTestCase):
    with_worker = False
    gateway_env = TABLE["gateway_env"]
    outcomes = collections.Counter()
    tried = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, TABLE["catalog"])
        s.publish_catalog(s.tenant_b, CATALOG_B)
        s.await_templates(s.tenant_a, TABLE["catalog"])
        s.await_templates(s.tenant_b, CATALOG_B)
        cls.port = s.gateway_port
        tok = s.tenant_a["token"]
        cls.placeholders = {
            "{token_a}": tok, "{token_b}": s.tenant_b["token"],
            "{token_a_b64}": base64.b64encode(tok.encode()).decode(),
            "{token_a_prefix}": tok[:-1], "{token_a_sha256}": sha256_hex(tok)}

    @classmethod
    def tearDownClass(cls):
        classes = ", ".join(f"{k}: {v}" for k, v in sorted(cls.outcomes.items()))
        sys.stderr.write(f"\nhostile HTTP inputs tried: {cls.tried} ({classes})\n")
        super().tearDownClass()

    # -- building requests ------------------------------------------------------------------

    def subst(self, text, callback_url=None):
        for k, v in self.placeholders.items():
            text = text.replace(k, v)
        if callback_url is not None:
            text = text.replace("{callback_url}", callback_url)
        return text

    def contract_body(self, spec):
        """(bytes, the object sent or None when the bytes were altered afterwards)."""
        obj = self.stack.interview_body()
        url = obj["callback_url"]
        for dotted, value in (spec.get("set") or {}).items():
            if isinstance(value, str):
                value = self.subst(value, url)
            set_path(obj, dotted, value)
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        altered = False
        edits = list(spec.get("replace") or [])
        if "set_raw" in spec:
            edits.append(spec["set_raw"])
        for old, new in edits:
            old_b, new_b = old.encode("latin-1"), new.encode("latin-1")
            self.assertIn(old_b, data, f"table error: {old!r} not in the body")
            data = data.replace(old_b, new_b, 1)
            altered = True
        if "prepend" in spec:
            data = spec["prepend"].encode("latin-1") + data
            altered = True
        if "append" in spec:
            data += spec["append"].encode("latin-1")
            altered = True
        return data, obj, altered

    def build(self, req):
        """(request bytes, object sent or None)."""
        if "raw" in req:
            return self.subst(req["raw"]).encode("latin-1"), None
        method = req.get("method", "GET")
        if "path_repeat" in req:
            prefix, unit, times = req["path_repeat"]
            path = prefix + unit * times
        else:
            path = req.get("path", "/interview-templates")
        lines = [f"{method} {path} HTTP/1.1", "Host: gw"]
        for value in req.get("auth", ["Bearer {token_a}"]):
            lines.append("Authorization: " + self.subst(value))
        body, sent = None, None
        spec = req.get("body")
        if spec is not None:
            if "contract" in spec:
                body, sent, _ = self.contract_body(spec["contract"])
            elif "text" in spec:
                body = self.subst(spec["text"]).encode("latin-1")
            elif "repeat" in spec:
                prefix, unit, times, suffix = spec["repeat"]
                body = (prefix + unit * times + suffix).encode("latin-1")
            elif "size" in spec:
                body = b"x" * spec["size"]
            ct = req.get("content_type", "application/json")
            if ct is not None:
                lines.append(f"Content-Type: {ct}")
        for k, v in req.get("headers", []):
            lines.append(f"{k}: {self.subst(v)}")
        framing = req.get("framing", "length")
        payload = b""
        if body is not None and framing == "length":
            lines.append(f"Content-Length: {len(body)}")
            payload = body
        elif body is not None:
            lines.append("Transfer-Encoding: " + req.get("te", "chunked"))
            if framing == "chunked-ext":
                payload = chunked(body, len(body), ext=True)
            else:
                payload = chunked(body, int(framing.split(":")[1]))
        elif method == "POST":
            lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload, sent

    # -- sending and checking ---------------------------------------------------------------

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def exchange(self, data, want_close):
        """(response or None, closed after it: True/False/None when not asked)."""
        sock = self.connect()
        try:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading everything
            resp = read_response(sock, 15)
            if resp == "timeout":
                self.fail("no answer within 15 s and the connection still open (a hang)")
            closed = None
            if resp is None:
                closed = True
            elif want_close:
                closed = closed_by_peer(sock, 5)
            return resp, closed
        finally:
            sock.close()

    def slow(self, spec):
        """Sends start, then one trickle byte per interval: seconds until the peer closed."""
        sock = self.connect()
        try:
            sock.sendall(self.subst(spec["start"]).encode("latin-1"))
            t0 = time.monotonic()
            sent = 0
            while time.monotonic() - t0 < 15:
                if closed_by_peer(sock, spec["interval"]):
                    return time.monotonic() - t0, sent
                if spec["trickle"]:
                    try:
                        sock.sendall(spec["trickle"].encode("latin-1"))
                        sent += 1
                    except (BrokenPipeError, ConnectionResetError):
                        return time.monotonic() - t0, sent
            return None, sent
        finally:
            sock.close()

    def assert_healthy(self):
        resp, _ = self.exchange(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
                                False)
        self.assertIsNotNone(resp, "the gateway stopped answering /healthz")
        self.assertEqual(resp[0], 200, f"/healthz after the row: {resp!r}")
        self.assertTrue(self.stack.gateway.alive(), "the gateway process died")

    def check(self, name, why, resp, closed, expect):
        ctx = f"{name} ({why}): got {resp!r}"
        status = expect.get("status")
        if status is None:
            self.assertIsNone(resp, ctx)
            self.assertTrue(closed, ctx)
            type(self).outcomes["closed without answer"] += 1
            return None
        self.assertIsNotNone(resp, f"{name}: no answer, connection closed ({why})")
        got, headers, body = resp
        self.assertEqual(got, status, ctx)
        kind = expect.get("body")
        if kind == "error":
            self.assertTrue(headers.get("content-type", "").startswith("application/json"), ctx)
            doc = json.loads(body)
            self.assertEqual(set(doc), {"status", "message"}, ctx)
            self.assertEqual(doc["status"], status, ctx)
            if "message" in expect:
                self.assertEqual(doc["message"], expect["message"], ctx)
            self.assertIn("x-request-id", headers, ctx)
            type(self).outcomes[f"{status} JSON error"] += 1
        elif kind == "mhd":
            self.assertIn(b"<html>", body, ctx)
            type(self).outcomes[f"{status} libmicrohttpd"] += 1
        else:
            type(self).outcomes[f"{status}"] += 1
        if expect.get("www_authenticate"):
            self.assertEqual(headers.get("www-authenticate"), "Bearer", ctx)
        if expect.get("templates"):
            self.assertEqual(json.loads(body)["interview_templates"],
                             TABLE["catalog"]["interview_templates"], ctx)
        if expect.get("close"):
            self.assertTrue(closed, f"{name}: connection left open after the answer ({why})")
        if status == 201:
            doc = json.loads(body)
            self.assertRegex(doc.get("interview_id", ""), r"^[0-9a-f]{32}$", ctx)
            return doc["interview_id"]
        self.assertNotIn(self.stack.tenant_a["token"].encode(), body, ctx)
        return None

    def check_events(self, created, refused_urls):
        """created: [(interview_id, sent object, {dotted field: expected value})]."""
        if not created and not refused_urls:
            return
        by_key = {}
        for m in self.requested_events():
            by_key.setdefault(m["key"], m)
        for iid, sent, want in created:
            with self.subTest(event=iid):
                self.assertIn(iid, by_key, f"201 without an event: {iid} ({sent})")
                ev = by_key[iid]["value"]
                self.assertIsInstance(ev, dict, by_key[iid])
                for field in ("interview_template_id", "job_id", "job_title", "callback_url",
                              "candidate.first_name", "candidate.last_name", "candidate.email",
                              "candidate.phone", "preferences"):
                    if field in want:
                        expected = want[field]
                    else:
                        expected = get_path(sent, field)
                        if field in ("interview_template_id", "job_id"):
                            expected = id_text(expected)
                    self.assertEqual(get_path(ev, field), expected,
                                     f"{field} of {iid}: sent {get_path(sent, field)!r}")
        urls = {m["value"].get("callback_url") for m in by_key.values()
                if isinstance(m["value"], dict)}
        refused = {u for u in refused_urls if isinstance(u, str)}
        self.assertFalse(urls & refused, "refused requests left events")

    def requested_events(self):
        """interviews.requested from the beginning: [{"key", "value"}]. Split on '\\n' only:
        str.splitlines() (Kcat.consume_all) also splits on U+2028, which a value may hold."""
        s = self.stack
        r = subprocess.run(["kcat", "-C", "-b", s.broker.bootstrap, "-t", s.topics["requested"],
                            "-J", "-e", "-q", "-o", "beginning"], capture_output=True, timeout=60,
                           check=True)
        out = []
        for line in r.stdout.decode("utf-8").split("\n"):
            if line.strip():
                m = json.loads(line)
                out.append({"key": m.get("key"), "value": json.loads(m["payload"])})
        return out

    # -- the tests ----------------------------------------------------------------------------

    def test_rows(self):
        created, refused_urls = [], []
        for row in TABLE["rows"]:
            with self.subTest(row=row["name"]):
                type(self).tried += 1
                req, expect = row["request"], row["expect"]
                if "slow" in req:
                    elapsed, sent = self.slow(req["slow"])
                    self.assertIsNotNone(elapsed, f"{row['name']}: still open after 15 s")
                    self.assertLessEqual(elapsed, expect["within"],
                                         f"{row['name']}: closed only after {elapsed:.1f} s")
                    type(self).outcomes["closed at the request deadline"] += 1
                else:
                    data, sent = self.build(req)
                    resp, closed = self.exchange(data, expect.get("close", False))
                    iid = self.check(row["name"], row["why"], resp, closed, expect)
                    if expect.get("event"):
                        want = {}
                        if "template_id" in expect:
                            want["interview_template_id"] = expect["template_id"]
                        self.assertIsNotNone(sent, "table error: event check needs a body")
                        created.append((iid, sent, want))
                    elif sent is not None:
                        refused_urls.append(sent["callback_url"])
                self.assert_healthy()
        self.check_events(created, refused_urls)

    def test_wrong_types_in_every_field(self):
        spec = TABLE["field_types"]
        created, refused_urls = [], []
        for field, cells in spec["fields"].items():
            for typ, cell in cells.items():
                with self.subTest(field=field, type=typ):
                    type(self).tried += 1
                    value = cell["value"] if "value" in cell else spec["values"][typ]
                    data, sent, _ = self.contract_body({"set": {field: copy.deepcopy(value)}})
                    expect = {"status": cell["status"]}
                    if cell["status"] != 201:
                        expect.update(body="error", message=cell["message"])
                    resp, closed = self.exchange(self.build_post(data), False)
                    iid = self.check(f"{field}={typ}", cell.get("why", ""), resp, closed, expect)
                    if iid:
                        created.append((iid, sent, {}))
                    else:
                        refused_urls.append(sent["callback_url"])
        self.assert_healthy()
        self.check_events(created, refused_urls)

    def test_non_ascii_in_every_field(self):
        spec = TABLE["non_ascii"]
        created = []
        for field, value in spec["fields"].items():
            with self.subTest(field=field):
                type(self).tried += 1
                data, sent, _ = self.contract_body({"set": {field: copy.deepcopy(value)}})
                resp, closed = self.exchange(self.build_post(data), False)
                iid = self.check(f"non-ASCII {field}", "", resp, closed, {"status": 201})
                # The event must carry exactly what was sent, including ids (strings here).
                created.append((iid, sent, {field: get_path(sent, field)}))
        with self.subTest(field="escaped"):
            type(self).tried += 1
            escaped = spec["escaped"]["job_title"]
            data, sent, _ = self.contract_body(
                {"set": {"job_title": "ESCAPED"}, "replace": [['"ESCAPED"', f'"{escaped}"']]})
            resp, closed = self.exchange(self.build_post(data), False)
            iid = self.check("escaped job_title", "", resp, closed, {"status": 201})
            created.append((iid, sent, {"job_title": json.loads(f'"{escaped}"')}))
        self.assert_healthy()
        self.check_events(created, [])

    def build_post(self, body):
        head = (f"POST /interviews HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
                f"{self.stack.tenant_a['token']}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode("latin-1") + body


if __name__ == "__main__":
    unittest.main()
