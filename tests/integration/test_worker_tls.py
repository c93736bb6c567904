"""The production path: callbacks over https with certificate and host-name verification,
ALLOW_INSECURE_CALLBACKS=0 and the SSRF guard active, over real Kafka.

The callback receiver runs in a network namespace of its own (tls_fixture.py: a /30 on a veth
pair, no default route, no NAT), serving certificates of a test CA the worker trusts through
CALLBACK_CA_FILE; the namespace's /30 is the worker's CALLBACK_ALLOWED_SUBNETS. The worker
resolves the receiver's name with getaddrinfo through a private /etc/hosts (its own mount
namespace). Needs root: without it every test here is skipped, and says why."""

import json
import os
import socket
import tempfile
import threading
import unittest

from harness import (CONTRACT_RESULT, Service, StackTestCase, await_true,
                     completed_status_event)
from worker_util import requested_event
import tls_fixture as tf

NAME = "callbacks.ib-tls.test"        # the receiver, in callback_hosts, resolves into the netns
LOOP_NAME = "loopback.ib-tls.test"    # in callback_hosts, resolves to 127.0.0.1
OTHER_NAME = "other.ib-tls.test"      # the name on the mismatching certificate

# Listeners of the receiver (ports inside the namespace, which is ours alone).
P_OK, P_KEEPALIVE, P_H2, P_UNTRUSTED, P_MISMATCH, P_EXPIRED, P_REFUSED = \
    443, 8443, 9443, 10443, 11443, 12443, 13443
KEEPALIVE_REQUESTS = 10  # the receiver closes a connection after this many requests

SKIP_WHY = tf.root_missing()
FX = None


class Fixture:
    """Certificates, the namespace, the receiver, the worker's hosts wrapper and a loopback
    listener that counts connections; close() removes them all."""

    def __init__(self):
        base = os.environ.get("IB_TEST_ARTIFACTS_DIR") or tempfile.gettempdir()
        os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="tls-fixture-", dir=base)
        self.netns = None
        self.receiver = None
        self.loop_sock = None
        self.loop_accepts = 0
        try:
            self.ca = tf.TestCA(os.path.join(self.dir, "pki"))
            good = self.ca.leaf("good", NAME)
            listeners = [
                (P_OK, *good, ["http/1.1"], 1000),
                (P_KEEPALIVE, *good, ["http/1.1"], KEEPALIVE_REQUESTS),
                (P_H2, *good, ["h2", "http/1.1"], 1000),
                (P_UNTRUSTED, *self.ca.leaf("untrusted", NAME, issuer=self.ca.rogue), None, 1000),
                (P_MISMATCH, *self.ca.leaf("mismatch", OTHER_NAME), None, 1000),
                (P_EXPIRED, *self.ca.leaf("expired", NAME, expired=True), None, 1000),
                (P_REFUSED, *good, None, 1000),
            ]
            if not tf.HAVE_H2:
                listeners[2] = (P_H2, *good, ["http/1.1"], 1000)
            self.netns = tf.Netns()
            self.receiver = tf.Receiver(self.netns, listeners,
                                        os.path.join(self.dir, "receiver.jsonl"))
            self.wrapper = tf.worker_wrapper(
                self.dir, {NAME: self.netns.addr, LOOP_NAME: "127.0.0.1"},
                os.environ.get("IB_WORKER_BIN") or "")
            self._listen_loopback()
        except BaseException:
            self.close()
            raise

    def _listen_loopback(self):
        self.loop_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.loop_sock.bind(("127.0.0.1", 0))
        self.loop_sock.listen(16)
        self.loop_port = self.loop_sock.getsockname()[1]

        def loop():
            while True:
                try:
                    c, _ = self.loop_sock.accept()
                except OSError:
                    return
                self.loop_accepts += 1
                c.close()
        threading.Thread(target=loop, daemon=True).start()

    def close(self):
        if self.loop_sock is not None:
            self.loop_sock.close()
        if self.receiver is not None:
            self.receiver.stop()
        if self.netns is not None:
            self.netns.delete()


def setUpModule():
    global FX
    if SKIP_WHY:
        raise unittest.SkipTest(f"production-mode TLS tests skipped: {SKIP_WHY}")
    if not os.access(os.environ.get("IB_WORKER_BIN") or "", os.X_OK):
        raise unittest.SkipTest("results-worker binary not found; set IB_WORKER_BIN")
    FX = Fixture()


def tearDownModule():
    if FX is not None:
        FX.close()


class TlsStackTestCase(StackTestCase):
    """A stack whose worker runs in production mode behind the hosts wrapper."""

    with_gateway = False
    with_worker = False
    allowed_subnets = None  # default: the namespace's /30

    @classmethod
    def setUpClass(cls):
        cls.callback_hosts = [NAME, LOOP_NAME, "127.0.0.1", FX.netns.addr]
        super().setUpClass()
        s = cls.stack
        try:
            # The receiver's ports besides 443, and the loopback listener's, as a tenant's
            # callback_ports (the worker starts after this rewrite).
            with open(s.tenants_file, encoding="utf-8") as f:
                tenants = json.load(f)
            for t in tenants["tenants"]:
                t["callback_ports"] = [P_OK, P_KEEPALIVE, P_H2, P_UNTRUSTED, P_MISMATCH, P_EXPIRED,
                                       P_REFUSED, FX.loop_port]
            with open(s.tenants_file, "w", encoding="utf-8") as f:
                json.dump(tenants, f, indent=2)
            env = s._env()
            env.update({
                "WORKER_LISTEN": f"127.0.0.1:{s.worker_port}",
                "WORKER_GROUP_ID": s.worker_group,
                "ALLOW_INSECURE_CALLBACKS": "0",
                "CALLBACK_CA_FILE": FX.ca.ca[0],
                "CALLBACK_ALLOWED_SUBNETS": cls.allowed_subnets or str(FX.netns.subnet),
                # TLS failures are transient: a short schedule ends them in the DLQ quickly.
                "RETRY_SCHEDULE": "0s,300ms", "RETRY_MAX_AGE": "3s",
                "CALLBACK_TIMEOUT": "5s", "BREAKER_THRESHOLD": "1000",
            })
            s.worker = Service("results-worker", FX.wrapper, env, s.worker_port,
                               os.path.join(s.dir, "results-worker.log"))
            s.worker.wait_ready()
        except BaseException:
            s.close()
            raise

    def deliver(self, url, iid=None):
        s = self.stack
        iid = iid or s.unique("tls")
        s.kcat.produce(s.topics["requested"], iid, requested_event(s.tenant_a, iid, url))
        s.kcat.produce(s.topics["status"], iid, completed_status_event(iid))
        return iid

    def await_requests(self, port, count, timeout=60, path=None):
        def check():
            got = [e for e in FX.receiver.events(port, "request")
                   if path is None or e["path"] == path]
            return got if len(got) >= count else None
        return await_true(check, timeout, f"{count} request(s) on receiver port {port}",
                          interval=0.2)

    def dead_letters(self, ids, timeout=60):
        s = self.stack
        got = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] in ids, timeout=timeout,
                                    count=len(ids), what="a dead letter per case")
        return {m["key"]: m["value"] for m in got}


class WorkerTlsTest(TlsStackTestCase):

    def test_completed_interview_over_https_exact_payload_and_token(self):
        path = f"/interviews/{self.stack.unique('p')}"
        self.deliver(f"https://{NAME}{path}")
        rec = self.await_requests(P_OK, 1, path=path)[0]
        self.assertEqual(rec["method"], "PUT", rec)
        self.assertEqual(rec["headers"].get("authorization"),
                         f"Bearer {self.stack.tenant_a['workable_token']}", rec)
        self.assertTrue(rec["headers"].get("content-type", "").startswith("application/json"))
        self.assertEqual(rec["headers"].get("host"), NAME, rec)
        self.assertEqual(json.loads(rec["body"]), CONTRACT_RESULT)
        hs = FX.receiver.events(P_OK, "handshake")
        self.assertTrue(hs, "no TLS handshake on the receiver")
        print(f"\nhttps delivery: {hs[0]['version']}, ALPN {hs[0]['alpn']}", flush=True)

    def test_keepalive_and_tls_session_reuse(self):
        s = self.stack
        n = 200
        ids = [s.unique("ka") for _ in range(n)]
        s.kcat.produce_many(s.topics["requested"], [
            (iid, requested_event(s.tenant_a, iid, f"https://{NAME}:{P_KEEPALIVE}/cb/{iid}"))
            for iid in ids])
        s.kcat.produce_many(s.topics["status"], [(iid, completed_status_event(iid))
                                                 for iid in ids])
        reqs = self.await_requests(P_KEEPALIVE, n, timeout=180)
        self.assertEqual({r["path"] for r in reqs}, {f"/cb/{iid}" for iid in ids})
        accepts = len(FX.receiver.events(P_KEEPALIVE, "accept"))
        hs = FX.receiver.events(P_KEEPALIVE, "handshake")
        full = sum(1 for h in hs if not h["reused"])
        resumed = len(hs) - full
        print(f"\n{n} deliveries: {accepts} TCP connections, {len(hs)} TLS handshakes "
              f"({full} full, {resumed} resumed); the receiver closes a connection after "
              f"{KEEPALIVE_REQUESTS} requests", flush=True)
        # Keep-alive: a connection carries up to KEEPALIVE_REQUESTS deliveries, so about
        # n / KEEPALIVE_REQUESTS connections plus one per parallel stream (8 per host).
        self.assertLessEqual(accepts, n // KEEPALIVE_REQUESTS + 16)
        # Session reuse: full handshakes only for the first connections in parallel; every
        # reconnection resumes the TLS session.
        self.assertLessEqual(full, 16, hs)
        self.assertGreater(resumed, 0, hs)

    def test_receiver_offering_http2(self):
        if not tf.HAVE_H2:
            self.skipTest("the receiver cannot serve HTTP/2 without python3-h2 "
                          "(scripts/install-deps)")
        path = f"/h2/{self.stack.unique('p')}"
        self.deliver(f"https://{NAME}:{P_H2}{path}")
        rec = self.await_requests(P_H2, 1, path=path)[0]
        self.assertEqual(json.loads(rec["body"]), CONTRACT_RESULT)
        self.assertEqual(rec["headers"].get("authorization"),
                         f"Bearer {self.stack.tenant_a['workable_token']}", rec)
        alpn = {h["alpn"] for h in FX.receiver.events(P_H2, "handshake")}
        print(f"\nreceiver offering h2 and http/1.1: ALPN {sorted(alpn)}, request over "
              f"{rec['proto']}", flush=True)
        self.assertEqual(alpn, {"h2"})
        self.assertEqual(rec["proto"], "HTTP/2")

    def test_certificate_failures_are_transient_then_dead_lettered(self):
        cases = {
            "untrusted": (P_UNTRUSTED, "unable to get local issuer certificate"),
            "host-name-mismatch": (P_MISMATCH, "no alternative certificate subject name"),
            "expired": (P_EXPIRED, "certificate has expired"),
        }
        ids = {}
        for name, (port, _) in cases.items():
            ids[self.deliver(f"https://{NAME}:{port}/cb/{name}")] = name
        dls = self.dead_letters(ids)
        for iid, name in ids.items():
            port, want = cases[name]
            with self.subTest(case=name):
                dl = dls[iid]
                reason = dl["reason"]
                print(f"\n{name}: attempts {dl.get('attempts')}: {reason}", flush=True)
                self.assertTrue(reason.startswith("retries exhausted"), reason)
                self.assertIn(want, reason)
                self.assertGreater(dl["attempts"], 1, dl)
                self.assertTrue(FX.receiver.events(port, "accept"), "never connected")
                self.assertEqual(FX.receiver.events(port, "request"), [],
                                 "a request was sent over an unverified connection")

    def test_refused_loopback_never_receives_a_byte(self):
        port = FX.loop_port
        ids = {self.deliver(f"https://127.0.0.1:{port}/cb"): "literal",
               self.deliver(f"https://{LOOP_NAME}:{port}/cb"): "name"}
        dls = self.dead_letters(ids)
        for iid, name in ids.items():
            with self.subTest(case=name):
                reason = dls[iid]["reason"]
                self.assertIn("refused", reason)
                self.assertIn("127.0.0.0/8", reason)
        self.assertEqual(FX.loop_accepts, 0, "a refused loopback callback connected")


class WorkerTlsWithoutExceptionTest(TlsStackTestCase):
    """The namespace's address outside CALLBACK_ALLOWED_SUBNETS (which names only the other end
    of the veth): refused, as any 10.0.0.0/8 address."""

    @classmethod
    def setUpClass(cls):
        cls.allowed_subnets = f"{FX.netns.peer}/32"
        super().setUpClass()

    def test_namespace_address_without_the_exception_never_receives_a_byte(self):
        ids = {self.deliver(f"https://{NAME}:{P_REFUSED}/cb"): "name",
               self.deliver(f"https://{FX.netns.addr}:{P_REFUSED}/cb"): "literal"}
        dls = self.dead_letters(ids)
        for iid, name in ids.items():
            with self.subTest(case=name):
                reason = dls[iid]["reason"]
                self.assertTrue(reason.startswith("callback refused"), reason)
                self.assertIn("10.0.0.0/8", reason)
        self.assertEqual(FX.receiver.events(P_REFUSED, "accept"), [],
                         "a refused callback connected to the receiver")


if __name__ == "__main__":
    unittest.main()
