"""The callback simulator on its own: recording, scripts, reset, hang, wait, keep-alive."""

import http.client
import json
import os
import socket
import tempfile
import threading
import time
import unittest

from harness import Sim, http_request


class CallbackSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ib-sim-")
        cls.sim = Sim(os.path.join(cls.tmp, "sim.log"))

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.reset()

    def put(self, path, body, headers=None, timeout=10):
        hdrs = {"Authorization": "Bearer tok-123"}
        hdrs.update(headers or {})
        return http_request(self.sim.base, "PUT", path, body, hdrs, timeout)

    def test_records_put_with_headers_and_parsed_body(self):
        r = self.put("/interviews/1", {"status": "completed", "interview": {"score": "78"}})
        self.assertEqual(r.status, 200)
        got = self.sim.wait(1, timeout=5)
        self.assertEqual(len(got), 1)
        rec = got[0]
        self.assertEqual(rec["method"], "PUT")
        self.assertEqual(rec["path"], "/interviews/1")
        self.assertEqual(rec["headers"]["Authorization"], "Bearer tok-123")
        self.assertEqual(rec["body"], {"status": "completed", "interview": {"score": "78"}})
        self.assertEqual(rec["answered"], 200)
        self.assertRegex(rec["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # The record file holds the same request as one JSON line.
        with open(os.path.join(self.tmp, "sim.log.jsonl"), encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        self.assertEqual(lines[-1]["body"], rec["body"])
        self.assertEqual(lines[-1]["headers"]["Authorization"], "Bearer tok-123")

    def test_non_json_body_recorded_as_text(self):
        self.put("/x", "not json {", {"Content-Type": "text/plain"})
        rec = self.sim.wait(1, timeout=5)[0]
        self.assertEqual(rec["body"], "not json {")

    def test_script_queue_then_default(self):
        self.sim.script("/interviews/2",
                        [{"status": 503, "headers": {"Retry-After": "1"}, "body": "busy"},
                         {"status": 429}],
                        then={"status": 204})
        r1 = self.put("/interviews/2", {"a": 1})
        r2 = self.put("/interviews/2", {"a": 2})
        r3 = self.put("/interviews/2", {"a": 3})
        r4 = self.put("/interviews/2", {"a": 4})
        self.assertEqual((r1.status, r2.status, r3.status, r4.status), (503, 429, 204, 204))
        self.assertEqual(r1.headers.get("Retry-After"), "1")
        self.assertEqual(r1.body, b"busy")
        # Other paths are not affected by the script.
        self.assertEqual(self.put("/interviews/other", {}).status, 200)
        answered = [r["answered"] for r in self.sim.requests("/interviews/2")]
        self.assertEqual(answered, [503, 429, 204, 204])

    def test_wildcard_script_and_specific_override(self):
        self.sim.script("*", then={"status": 500})
        self.sim.script("/ok", then={"status": 200})
        self.assertEqual(self.put("/any", {}).status, 500)
        self.assertEqual(self.put("/ok", {}).status, 200)

    def test_json_body_response(self):
        self.sim.script("/j", [{"status": 400, "body": {"error": "bad"}}])
        r = self.put("/j", {})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": "bad"})
        self.assertEqual(r.headers.get("Content-Type"), "application/json")

    def test_reset_mode_closes_without_answer(self):
        self.sim.script("/r", [{"mode": "reset"}], then={"status": 200})
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.put("/r", {"n": 1})
        self.assertEqual(self.put("/r", {"n": 2}).status, 200)
        self.assertEqual([r["answered"] for r in self.sim.requests("/r")], ["reset", 200])

    def test_hang_mode_until_released(self):
        self.sim.script("/h", [{"mode": "hang"}])
        errors = []

        def client():
            try:
                self.put("/h", {}, timeout=30)
                errors.append("answered")
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                errors.append(type(exc).__name__)
        t = threading.Thread(target=client)
        t.start()
        got = self.sim.wait(1, timeout=5, path="/h")  # recorded while the client still waits
        self.assertEqual(got[0]["answered"], "hang")
        self.assertTrue(t.is_alive(), "client should still be waiting for an answer")
        self.sim.reset()  # releases hanging connections
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(len(errors), 1)
        self.assertNotEqual(errors[0], "answered")

    def test_hang_with_limit_and_client_timeout(self):
        self.sim.script("/h2", [{"mode": "hang", "hang_ms": 300}])
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.put("/h2", {}, timeout=10)

    def test_delay(self):
        self.sim.script("/d", [{"status": 200, "delay_ms": 400}])
        t0 = time.monotonic()
        self.assertEqual(self.put("/d", {}).status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.35)

    def test_wait_long_polls_until_count(self):
        result = {}

        def waiter():
            result["got"] = self.sim.wait(3, timeout=10)
        t = threading.Thread(target=waiter)
        t.start()
        self.put("/w/0", {"i": 0})
        self.put("/w/1", {"i": 1})
        self.assertNotIn("got", result, "wait returned before 3 requests existed")
        self.put("/w/2", {"i": 2})
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual([r["path"] for r in result["got"]], ["/w/0", "/w/1", "/w/2"])

    def test_wait_times_out_with_408(self):
        r = http_request(self.sim.base, "GET", "/_sim/wait?count=1&timeout=0.3")
        self.assertEqual(r.status, 408)
        self.assertEqual(r.json(), [])
        with self.assertRaises(AssertionError):
            self.sim.wait(1, timeout=0.3)

    def test_wait_by_path(self):
        self.put("/a", {})
        self.put("/b", {})
        self.assertEqual([r["path"] for r in self.sim.wait(1, timeout=2, path="/b")], ["/b"])

    def test_reset_clears_requests_and_scripts(self):
        self.sim.script("*", then={"status": 500})
        self.put("/x", {})
        self.sim.reset()
        self.assertEqual(self.sim.requests(), [])
        self.assertEqual(self.put("/x", {}).status, 200)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=5)
        try:
            for i in range(3):
                conn.request("PUT", f"/k/{i}", body=json.dumps({"i": i}),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertFalse(r.will_close)
            sock_name = conn.sock.getsockname()
        finally:
            conn.close()
        self.assertEqual(len(self.sim.requests()), 3)
        self.assertIsNotNone(sock_name)

    def test_chunked_body(self):
        s = socket.create_connection(("127.0.0.1", self.sim.port), timeout=5)
        try:
            body = b'{"chunked": true}'
            req = (b"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
            s.sendall(req)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))
        finally:
            s.close()
        self.assertEqual(self.sim.wait(1, timeout=5)[0]["body"], {"chunked": True})

    def test_bad_script_rejected(self):
        r = http_request(self.sim.base, "POST", "/_sim/script", {"responses": []})
        self.assertEqual(r.status, 400)
        r = http_request(self.sim.base, "POST", "/_sim/script",
                         {"path": "*", "responses": [{"mode": "explode"}]})
        self.assertEqual(r.status, 400)
        r = http_request(self.sim.base, "GET", "/_sim/nope")
        self.assertEqual(r.status, 404)


if __name__ == "__main__":
    unittest.main()
