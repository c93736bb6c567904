"""api-gateway: one tenant or client must not hurt the others, and what the gateway exposes.

- A tenant's creation quota (GATEWAY_CREATE_RATE / GATEWAY_CREATE_BURST, a token bucket per
  tenant and replica): past it POST /interviews answers 429 with Retry-After, counted per
  tenant on /metrics; a repeat of an interview the tenant already created is not charged; the
  other tenant is unaffected.
- GATEWAY_MAX_CONNECTIONS_PER_IP: one address holding its limit of idle sockets gets no more,
  while another address (127.0.0.2) is served at once.
- /metrics only on the operations listener (GATEWAY_OPS_LISTEN), which also answers /healthz and
  /readyz; the public port answers /metrics 404.
- No SO_REUSEPORT unless GATEWAY_REUSE_PORT: a second gateway on the same port does not start.
"""

import socket
import sys
import time
import unittest

from harness import StackTestCase, await_true, http_request

CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
RATE, BURST, PER_IP = 1, 3, 8


def metric(text, name, labels=""):
    """Value of one series in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class FairnessTest(StackTestCase):
    with_worker = False
    gateway_env = {"GATEWAY_CREATE_RATE": str(RATE), "GATEWAY_CREATE_BURST": str(BURST),
                   "GATEWAY_MAX_CONNECTIONS_PER_IP": str(PER_IP)}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.publish_catalog(cls.stack.tenant_b, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_b, CATALOG)

    def post(self, body, tenant):
        return self.stack.gw("POST", "/interviews", body, token=tenant["token"])

    def rejected(self, tenant):
        text = self.stack.gw_ops("GET", "/metrics").body.decode()
        return metric(text, "ib_gateway_create_quota_rejected_total",
                      f'{{tenant="{tenant["id"]}"}}')

    def test_creation_quota(self):
        s = self.stack
        a, b = s.tenant_a, s.tenant_b
        first = s.interview_body()
        t0 = time.monotonic()
        r = self.post(first, a)
        self.assertEqual(r.status, 201, r)
        first_id = r.json()["interview_id"]
        created, refused = 1, None
        # The burst, then 429: at most BURST plus what RATE refilled meanwhile.
        for _ in range(BURST + 10):
            r = self.post(s.interview_body(), a)
            if r.status == 429:
                refused = r
                break
            self.assertEqual(r.status, 201, r)
            created += 1
        elapsed = time.monotonic() - t0
        self.assertIsNotNone(refused, f"{created} creations in {elapsed:.1f}s, none refused")
        self.assertLessEqual(created, BURST + RATE * (int(elapsed) + 1))
        self.assertEqual(refused.json(), {"status": 429, "message": "Too Many Requests"})
        self.assertEqual(refused.headers.get("Content-Type"), "application/json")
        retry_after = refused.headers.get("Retry-After")
        self.assertIsNotNone(retry_after, refused)
        self.assertRegex(retry_after, r"^[1-9][0-9]*$")
        self.assertGreaterEqual(self.rejected(a), 1)
        print(f"\nquota {RATE}/s burst {BURST}: {created} created in {elapsed:.2f} s, then 429 "
              f"Retry-After {retry_after}", file=sys.stderr)

        # Repeats of an interview A already owns are not charged: every one answered with its
        # id, although the bucket is empty (RATE refills at most one token in this window).
        t1 = time.monotonic()
        answers = [self.post(first, a) for _ in range(5)]
        self.assertLess(time.monotonic() - t1, 2.0, "repeats too slow to tell")
        self.assertEqual([(x.status, x.json().get("interview_id")) for x in answers],
                         [(201, first_id)] * 5)
        # Tenant B has its own bucket.
        r = self.post(s.interview_body(), b)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.rejected(b), 0)
        # After Retry-After, A creates again.
        time.sleep(int(retry_after))  # the wait the client is told to make
        r = self.post(s.interview_body(), a)
        self.assertEqual(r.status, 201, r)

    def test_per_ip_connection_limit(self):
        s = self.stack
        port = s.gateway_port
        held = []
        try:
            for _ in range(PER_IP):
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                held.append(c)
            # Accepted: each one still gets an answer (keep-alive).
            held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            self.assertTrue(held[0].recv(4096).startswith(b"HTTP/1.1 200"))

            over = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(over)
            try:
                over.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
                answer = over.recv(4096)
            except OSError:
                answer = b""
            self.assertEqual(answer, b"", "the address's next connection was served")

            t0 = time.monotonic()
            other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(other)
            other.settimeout(5)
            other.bind(("127.0.0.2", 0))
            other.connect(("127.0.0.1", port))
            other.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            self.assertTrue(other.recv(4096).startswith(b"HTTP/1.1 200"))
            waited = time.monotonic() - t0
            self.assertLess(waited, 1.0)
            print(f"\n127.0.0.1 at its limit of {PER_IP}: its next connection closed unanswered; "
                  f"127.0.0.2 answered in {waited * 1000:.1f} ms", file=sys.stderr)
        finally:
            for c in held:
                c.close()

        # The address's slots come back once its sockets close.
        def served():
            try:
                return s.gw("GET", "/healthz", timeout=3).status == 200
            except OSError:
                return False
        await_true(served, 10, "127.0.0.1 served again")

    def test_operations_listener(self):
        s = self.stack
        self.assertEqual(s.gw("GET", "/metrics").status, 404)
        self.assertEqual(s.gw("GET", "/healthz").status, 200)
        self.assertEqual(s.gw("GET", "/readyz").status, 200)
        r = s.gw_ops("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertIn("# TYPE ib_gateway_create_quota_rejected_total counter", r.body.decode())
        self.assertEqual(s.gw_ops("GET", "/healthz").status, 200)
        self.assertEqual(s.gw_ops("GET", "/readyz").status, 200)
        # Workable's endpoints are not there, authenticated or not.
        r = http_request(s.gateway.ops_base, "GET", "/interview-templates",
                         headers={"Authorization": f"Bearer {s.tenant_a['token']}"})
        self.assertEqual(r.status, 404, r)
        self.assertEqual(http_request(s.gateway.ops_base, "POST", "/interviews",
                                      s.interview_body()).status, 404)

    def test_second_gateway_cannot_bind_the_port(self):
        s = self.stack
        svc = s.spawn_gateway(env={"GATEWAY_LISTEN": f"127.0.0.1:{s.gateway_port}"}, wait=False,
                              name="api-gateway-same-port")
        try:
            rc = svc.proc.wait(30)
            log = svc.log_tail()
        finally:
            svc.stop()
        self.assertNotEqual(rc, 0)
        self.assertIn(f"GATEWAY_LISTEN: cannot listen on 127.0.0.1:{s.gateway_port}", log)
        # The first one still serves every request.
        for _ in range(10):
            self.assertEqual(s.gw("GET", "/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
