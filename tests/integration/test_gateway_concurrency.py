"""api-gateway under many keep-alive connections at once (bench/NOTES.md: GET
/interview-templates collapsed from ~12,000 to ~100 req/s at 256 connections).

libmicrohttpd 0.9.75's internal epoll thread fetches ready connections 128 at a time and asks
for more, with the full timeout, after a full batch: with exactly 128 or 256 connections ready at
once it blocked there (up to GATEWAY_IDLE_TIMEOUT) with every request unread. The gateway now
runs the daemon from its own loop (api-gateway/src/daemon_loop.c, loop_main); these tests fail, by
timing out, against the internal thread.
"""

import json
import selectors
import signal
import socket
import time
import unittest

from harness import StackTestCase

# The contract's example body (POST) names template 12345 and job 6789.
CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
CONNECTIONS = 256  # two full batches of MHD's 128 epoll events
# The stall lasted GATEWAY_IDLE_TIMEOUT: set to 120 s here, a round that takes ROUND_TIMEOUT
# (60 s, generous for 256 requests under ASan on two busy cores, Kafka included) is a stall.
IDLE_TIMEOUT = "120s"
ROUND_TIMEOUT = 60.0


def parse_response(buf):
    """(status, headers, body, rest) of the first whole HTTP/1.1 response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(buf) < end + 4 + length:
        return None
    body = buf[end + 4:end + 4 + length]
    return status, headers, body, buf[end + 4 + length:]


class ConcurrencyTest(StackTestCase):
    with_worker = False
    gateway_env = {"GATEWAY_IDLE_TIMEOUT": IDLE_TIMEOUT}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.publish_catalog(s.tenant_a, CATALOG)
        s.await_templates(s.tenant_a, CATALOG)

    def setUp(self):
        self.socks = []
        port = int(self.stack.gateway.base.rsplit(":", 1)[1])
        for _ in range(CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks.append(sock)

    def tearDown(self):
        for sock in self.socks:
            sock.close()
        super().tearDown()

    def request(self, method, path, body=None):
        token = self.stack.tenant_a["token"]
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\n")
        if body is None:
            return (head + "\r\n").encode()
        data = json.dumps(body).encode()
        return (head + f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                "\r\n").encode() + data

    def round(self, requests, what):
        """Sends requests[i] on connection i (all of them first), then reads one response from
        each within ROUND_TIMEOUT; returns [(status, body)] in connection order."""
        for sock, req in zip(self.socks, requests):
            sock.sendall(req)
        return self.collect(what)

    def collect(self, what):
        sel = selectors.DefaultSelector()
        bufs = {}
        answers = {}
        for i, sock in enumerate(self.socks):
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, i)
            bufs[i] = b""
        start = time.monotonic()
        try:
            while len(answers) < len(self.socks):
                left = ROUND_TIMEOUT - (time.monotonic() - start)
                if left <= 0:
                    break
                for key, _ in sel.select(left):
                    i = key.data
                    data = key.fileobj.recv(65536)
                    if not data:
                        answers[i] = (None, b"connection closed")
                        sel.unregister(key.fileobj)
                        continue
                    bufs[i] += data
                    parsed = parse_response(bufs[i])
                    if parsed is not None:
                        answers[i] = (parsed[0], parsed[2])
                        sel.unregister(key.fileobj)
        finally:
            sel.close()
            for sock in self.socks:
                sock.setblocking(True)
        elapsed = time.monotonic() - start
        missing = len(self.socks) - len(answers)
        self.assertEqual(missing, 0, f"{what}: {missing} of {len(self.socks)} connections got "
                         f"no answer within {ROUND_TIMEOUT:.0f} s (requests left unread)")
        return [answers[i] for i in range(len(self.socks))], elapsed

    def assert_templates(self, answers, what):
        want = {"interview_templates": CATALOG["interview_templates"]}
        for i, (status, body) in enumerate(answers):
            self.assertEqual(status, 200, f"{what}: connection {i}: {body!r}")
            self.assertEqual(json.loads(body), want, f"{what}: connection {i}")

    def test_get_on_256_keepalive_connections(self):
        """One GET on each of 256 keep-alive connections at once, then a second round on the
        same connections: every one answered 200 within a round, every time. (Whether the old
        stall shows here depends on timing; test_get_all_ready_at_once makes it certain.)"""
        req = self.request("GET", "/interview-templates")
        for rnd in ("first round", "second round"):
            answers, elapsed = self.round([req] * CONNECTIONS, rnd)
            self.assert_templates(answers, rnd)
            self.assertLess(elapsed, ROUND_TIMEOUT, rnd)

    def test_get_all_ready_at_once(self):
        """The deterministic form: the 256 requests are all in the gateway's receive queues
        before it looks (process stopped while they are sent), as with wrk -c256 where the
        gateway is the bottleneck."""
        req = self.request("GET", "/interview-templates")
        answers, _ = self.round([req] * CONNECTIONS, "warm-up round")
        self.assert_templates(answers, "warm-up round")
        proc = self.stack.gateway.proc
        # A round stalls the old loop unless something else happens to be ready with the 256
        # (it did in about one round in three here): several rounds make the failure certain.
        for rnd in (f"stopped round {n}" for n in range(1, 7)):
            time.sleep(0.2)  # the gateway idle, waiting in epoll_wait
            proc.send_signal(signal.SIGSTOP)
            try:
                for sock in self.socks:
                    sock.sendall(req)
                time.sleep(0.2)  # let the last segments reach the receive queues
            finally:
                proc.send_signal(signal.SIGCONT)
            answers, _ = self.collect(rnd)
            self.assert_templates(answers, rnd)

    def test_post_on_256_keepalive_connections(self):
        """256 POST /interviews at once (each suspended until Kafka acknowledges, then resumed
        from the delivery-report thread): every one answered 201, twice on the same
        connections."""
        s = self.stack
        for rnd in ("first round", "second round"):
            reqs = [self.request("POST", "/interviews", s.interview_body())
                    for _ in range(CONNECTIONS)]
            answers, _ = self.round(reqs, rnd)
            ids = set()
            for i, (status, body) in enumerate(answers):
                self.assertEqual(status, 201, f"{rnd}: connection {i}: {body!r}")
                ids.add(json.loads(body)["interview_id"])
            self.assertEqual(len(ids), CONNECTIONS, rnd)


if __name__ == "__main__":
    unittest.main()
