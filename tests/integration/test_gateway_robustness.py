"""api-gateway: connection limits and deadlines, header and URL limits, /metrics,
request ids, traceparent, SIGTERM drain.

Waiting is on events (a socket closing, an endpoint's answer) against deadlines; the only
pauses are the client's own pacing of trickled bytes, which is the behaviour under test.
"""

import json
import re
import select
import signal
import socket
import threading
import time
import unittest

from harness import StackTestCase, await_true

CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
TRACEPARENT_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def connect(stack, svc=None):
    port = int((svc or stack.gateway).base.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def closed_by_peer(sock, timeout):
    """True once the peer closed (EOF or reset) within timeout; False if still open."""
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return False
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def read_response(sock, timeout=10):
    """One HTTP/1.1 response (Content-Length framed) from a keep-alive socket: (status, head,
    body), or None when the peer closed first."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return None
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(body) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ", 2)[1]), head.decode("latin-1"), body


def metric(text, name, labels=""):
    """Value of one series in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class DeadlinesTest(StackTestCase):
    """GATEWAY_IDLE_TIMEOUT=2s: idle and trickling (slowloris) connections are closed."""

    with_worker = False
    gateway_env = {"GATEWAY_IDLE_TIMEOUT": "2s"}

    def test_slowloris_trickled_headers_are_cut(self):
        sock = connect(self.stack)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            closed = False
            i = 0
            # One header byte every 0.25 s: MHD's inactivity timeout alone never fires.
            while time.monotonic() - t0 < 10:
                if closed_by_peer(sock, 0.25):
                    closed = True
                    break
                try:
                    sock.sendall(b"x")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                i += 1
            elapsed = time.monotonic() - t0
        finally:
            sock.close()
        self.assertTrue(closed, f"connection still open after {elapsed:.1f}s of trickled bytes")
        self.assertGreater(i, 4, "the client should have been trickling for a while")
        self.assertLess(elapsed, 5, f"closed only after {elapsed:.1f}s (deadline 2s)")

    def test_idle_connection_closed_and_active_one_served(self):
        sock = connect(self.stack)
        try:
            t0 = time.monotonic()
            self.assertTrue(closed_by_peer(sock, 6), "an idle connection stayed open > 6s")
            self.assertGreater(time.monotonic() - t0, 1.0)
        finally:
            sock.close()
        # Keep-alive: a connection answering requests faster than the deadline keeps working,
        # and is closed once idle.
        sock = connect(self.stack)
        try:
            for _ in range(3):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = read_response(sock)
                self.assertIsNotNone(resp)
                self.assertEqual(resp[0], 200)
            self.assertTrue(closed_by_peer(sock, 6), "idle keep-alive connection stayed open")
        finally:
            sock.close()


class LimitsTest(StackTestCase):
    with_worker = False
    gateway_env = {"GATEWAY_MAX_CONNECTIONS": "6"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)

    def test_header_and_url_limits(self):
        s = self.stack
        token = s.tenant_a["token"]
        r = s.gw("GET", "/interview-templates", token=token, headers={"X-Big": "a" * 20000})
        self.assertError(r, 431)
        r = s.gw("GET", "/interview-templates", token=token,
                 headers={f"X-H{i}": "b" * 100 for i in range(200)})
        self.assertError(r, 431)
        # Beyond the per-connection memory limit MHD answers itself: still 431, never 200.
        r = s.gw("GET", "/interview-templates", token=token, headers={"X-Big": "a" * 200000})
        self.assertEqual(r.status, 431, r)
        r = s.gw("GET", "/interviews/" + "a" * 3000, token=token)
        self.assertError(r, 414)
        # Just under the limits: served.
        r = s.gw("GET", "/interview-templates", token=token, headers={"X-Big": "a" * 8000})
        self.assertEqual(r.status, 200, r)

    def test_connection_limit(self):
        s = self.stack
        held = []
        try:
            for _ in range(6):
                sock = connect(s)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = read_response(sock)
                self.assertEqual(resp and resp[0], 200)
                held.append(sock)
            # Over the limit MHD stops accepting: the 7th waits in the listen backlog, unserved
            # (a negative, so checked against a bounded wait), and is served once one of the
            # six closes.
            extra = connect(s)
            held.append(extra)
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            r, _, _ = select.select([extra], [], [], 1.5)
            self.assertFalse(r, "a 7th connection was served while 6 were open (limit 6)")
            held.pop(0).close()
            resp = read_response(extra, timeout=10)
            self.assertEqual(resp and resp[0], 200, "the waiting connection once one closed")
        finally:
            for sock in held:
                sock.close()


class ObservabilityTest(StackTestCase):
    with_worker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)

    def scrape(self):
        r = self.stack.gw_ops("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"), r)
        self.assertIn("version=0.0.4", r.headers.get("Content-Type", ""))
        return r.body.decode()

    def test_metrics_series(self):
        s = self.stack
        series = 'ib_gateway_http_requests_total{route="/healthz",method="GET",status="200"}'
        before = self.scrape()
        for _ in range(3):
            self.assertEqual(s.gw("GET", "/healthz").status, 200)
        self.assertEqual(s.gw("GET", "/interviews/" + "0" * 32, token=s.tenant_a["token"]).status,
                         404)
        r = s.gw("POST", "/interviews", s.interview_body(), token=s.tenant_a["token"])
        self.assertEqual(r.status, 201, r)
        after = self.scrape()
        self.assertEqual(metric(after, "ib_gateway_http_requests_total",
                                '{route="/healthz",method="GET",status="200"}')
                         - metric(before, "ib_gateway_http_requests_total",
                                  '{route="/healthz",method="GET",status="200"}'), 3, series)
        self.assertGreaterEqual(metric(after, "ib_gateway_http_requests_total",
                                       '{route="/interviews/{id}",method="GET",status="404"}'), 1)
        self.assertEqual(metric(after, "ib_gateway_kafka_produce_duration_seconds_count",
                                '{outcome="acknowledged"}')
                         - metric(before, "ib_gateway_kafka_produce_duration_seconds_count",
                                  '{outcome="acknowledged"}'), 1)
        for name in ("# TYPE ib_gateway_http_request_duration_seconds histogram",
                     'ib_gateway_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}',
                     "# TYPE ib_gateway_http_requests_in_flight gauge",
                     "# TYPE ib_gateway_kafka_produce_errors_total counter",
                     'ib_gateway_view_lag_messages{view="status"}',
                     'ib_gateway_view_lag_messages{view="requested"}',
                     'ib_gateway_view_lag_messages{view="catalog"}',
                     "ib_gateway_views_caught_up 1", "ib_gateway_view_catalog_tenants 1",
                     "ib_gateway_view_interviews_bytes"):
            self.assertIn(name, after)
        # The created interview is in the view (the view reads its own topic asynchronously).
        await_true(lambda: metric(self.scrape(), "ib_gateway_view_interviews") >= 1, 20,
                   "ib_gateway_view_interviews >= 1")
        # The in-flight gauge counts the scrape itself.
        self.assertGreaterEqual(metric(after, "ib_gateway_http_requests_in_flight"), 1)
        self.assertNotIn(s.tenant_a["token"], after)

    def test_request_id_and_log_line(self):
        s = self.stack
        r = s.gw("GET", "/interview-templates", token=s.tenant_a["token"],
                 headers={"X-Request-Id": "it-req-42"})
        self.assertEqual(r.headers.get("X-Request-Id"), "it-req-42")
        r1 = s.gw("GET", "/healthz")
        r2 = s.gw("GET", "/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
        for resp in (r1, r2):
            self.assertRegex(resp.headers.get("X-Request-Id", ""), r"^[0-9a-f]{32}$")
        self.assertNotEqual(r1.headers["X-Request-Id"], r2.headers["X-Request-Id"])
        # Errors carry it too.
        r3 = s.gw("GET", "/interview-templates", token="wrong", headers={"X-Request-Id": "e-1"})
        self.assertEqual((r3.status, r3.headers.get("X-Request-Id")), (401, "e-1"))

        def logged():
            with open(s.gateway.log_path, encoding="utf-8") as f:
                lines = [json.loads(x) for x in f if x.startswith("{")]
            return [x for x in lines if x.get("request_id") in ("it-req-42", "e-1")]
        lines = await_true(lambda: len(logged()) == 2 and logged(), 10, "two request log lines")
        by_id = {x["request_id"]: x for x in lines}
        self.assertEqual(by_id["it-req-42"]["status"], 200)
        self.assertEqual(by_id["it-req-42"]["route"], "/interview-templates")
        self.assertEqual(by_id["it-req-42"]["tenant"], s.tenant_a["id"])
        self.assertEqual(by_id["e-1"]["status"], 401)
        self.assertRegex(by_id["e-1"]["trace_id"], r"^[0-9a-f]{32}$")
        with open(s.gateway.log_path, encoding="utf-8") as f:
            log = f.read()
        for t in (s.tenant_a, s.tenant_b):
            self.assertNotIn(t["token"], log)
            self.assertNotIn(t["workable_token"], log)

    def test_traceparent_forwarded(self):
        s = self.stack
        incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = s.gw("POST", "/interviews", s.interview_body(), token=s.tenant_a["token"],
                 headers={"traceparent": incoming})
        self.assertEqual(r.status, 201, r)
        tp = s.requested_events(r.json()["interview_id"])[0]["headers"].get("traceparent")
        self.assertRegex(tp or "", TRACEPARENT_RE)
        self.assertEqual(tp[3:35], "4bf92f3577b34da6a3ce929d0e0e4736", "same trace")
        self.assertEqual(tp[-2:], "01", "same flags")
        self.assertNotEqual(tp[36:52], "00f067aa0ba902b7", "the gateway's own span")
        # None (or an invalid one) given: a new trace is started.
        for hdrs in ({}, {"traceparent": "00-zz-00-01"}):
            r = s.gw("POST", "/interviews", s.interview_body(), token=s.tenant_a["token"],
                     headers=hdrs)
            self.assertEqual(r.status, 201, r)
            tp = s.requested_events(r.json()["interview_id"])[0]["headers"].get("traceparent")
            self.assertRegex(tp or "", TRACEPARENT_RE)
            self.assertNotEqual(tp[3:35], "0" * 32)


class DrainTest(StackTestCase):
    """SIGTERM with a creation waiting for Kafka: it is answered (503, never 201 without an
    event) and the process exits 0."""

    with_worker = False
    # Short, so the broker is frozen only a few seconds (a long freeze fences the KRaft broker
    # for a while after it resumes, which later classes' topic creation would trip over).
    gateway_env = {"GATEWAY_PRODUCE_TIMEOUT": "4s"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)

    def test_sigterm_answers_waiting_request_and_exits_0(self):
        s = self.stack
        svc = s.spawn_gateway(name="api-gateway-drain")
        result = {}
        body = s.interview_body()

        def post():
            result["r"] = s.gw_at(svc, "POST", "/interviews", body, token=s.tenant_a["token"],
                                  timeout=60)

        def in_flight():
            r = s.gw_ops("GET", "/metrics", svc=svc, timeout=5)
            return metric(r.body.decode(), "ib_gateway_kafka_produce_duration_seconds_count",
                          '{outcome="acknowledged"}') == 0 and \
                metric(r.body.decode(), "ib_gateway_http_requests_in_flight") >= 2
        try:
            with s.broker.paused():
                t = threading.Thread(target=post)
                t.start()
                await_true(in_flight, 10, "the POST waiting for Kafka")
                t0 = time.monotonic()
                svc.proc.send_signal(signal.SIGTERM)
                # The operations listener answers through the drain: not ready any more. The
                # in-flight gauge also counts a POST whose body is still being read: SIGTERM then
                # answers it 503 at once and the drain ends before the probe (connection refused,
                # the process gone): the promise below still holds, the probe has nothing to see.
                def draining_or_gone(path, want):
                    if svc.proc.poll() is not None:
                        return True
                    try:
                        return s.gw_ops("GET", path, svc=svc, timeout=5).status == want
                    except ConnectionError:
                        return svc.proc.poll() is not None
                await_true(lambda: draining_or_gone("/readyz", 503), 5,
                           "/readyz 503 on the operations listener while draining")
                self.assertTrue(draining_or_gone("/metrics", 200), "/metrics while draining")
                t.join(60)
                rc = svc.proc.wait(60)
                elapsed = time.monotonic() - t0
        finally:
            if svc.alive():
                svc.stop(signal.SIGKILL)
        r = result.get("r")
        self.assertIsNotNone(r, "the waiting POST got no answer")
        self.assertError(r, 503)
        self.assertIsNotNone(r.headers.get("Retry-After"), r)
        self.assertEqual(rc, 0, "exit code after SIGTERM")
        self.assertLess(elapsed, 15, "drain bounded by GATEWAY_PRODUCE_TIMEOUT + 2s")

        # The broker is back (and the next classes can use it): a creation succeeds again.
        def created():
            return s.gw("POST", "/interviews", s.interview_body(),
                        token=s.tenant_a["token"]).status == 201
        await_true(created, 60, "a 201 after the broker resumed", interval=0.5)


if __name__ == "__main__":
    unittest.main()
