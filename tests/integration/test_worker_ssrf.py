"""results-worker SSRF refusals (issue 4) with ALLOW_INSECURE_CALLBACKS=0: every callback URL
that breaks the rules ends in the dead-letter topic with its reason, and nothing reaches the
callback simulator (which listens on loopback: exactly what must be refused)."""

import time
import unittest

from harness import StackTestCase
from worker_util import requested_event, status_event

# The tenant's callback_hosts name the hostile IPv4 hosts too, so that the address checks (not
# only the host rule) are exercised. The tenants file accepts no IPv6 literals, so IPv6 URLs are
# refused by the host rule here; their address checks are covered by tests/unit (test_ssrf.c).
HOSTS = ["127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "0.0.0.0", "192.168.1.1",
         "100.64.0.1", "224.0.0.1", "groove-tech.workable.com"]


class WorkerSsrfTest(StackTestCase):
    with_gateway = False
    callback_hosts = HOSTS
    worker_env = {"ALLOW_INSECURE_CALLBACKS": "0", "RETRY_SCHEDULE": "0s,200ms",
                  "RETRY_MAX_AGE": "3s", "CALLBACK_TIMEOUT": "2s"}

    def test_every_ssrf_case_is_refused(self):
        s = self.stack
        port = s.sim.port
        cases = {
            # name: (url, text the dead letter's reason must contain)
            "http": (f"http://127.0.0.1:{port}/cb", "scheme"),
            "http-public-name": ("http://groove-tech.workable.com/cb", "scheme"),
            "loopback": (f"https://127.0.0.1:{port}/cb", "127.0.0.0/8"),
            "loopback-decimal": (f"https://2130706433:{port}/cb", "127.0.0.0/8"),
            "loopback-hex": (f"https://0x7f.1:{port}/cb", "127.0.0.0/8"),
            "loopback-octal": (f"https://0177.0.0.1:{port}/cb", "127.0.0.0/8"),
            "localhost-name": (f"https://localhost:{port}/cb", "refused"),
            "ipv6-loopback": (f"https://[::1]:{port}/cb", "callback_hosts"),
            "ipv4-mapped": (f"https://[::ffff:127.0.0.1]:{port}/cb", "callback_hosts"),
            "metadata": ("https://169.254.169.254/latest/meta-data/", "169.254.0.0/16"),
            "private-10": ("https://10.1.2.3/cb", "10.0.0.0/8"),
            "private-192": ("https://192.168.1.1/cb", "192.168.0.0/16"),
            "cgnat": ("https://100.64.0.1/cb", "100.64.0.0/10"),
            "unspecified": ("https://0.0.0.0/cb", "0.0.0.0/8"),
            "link-local-v6": ("https://[fe80::1]/cb", "callback_hosts"),
            "nat64": ("https://[64:ff9b::a9fe:a9fe]/cb", "callback_hosts"),
            "multicast": ("https://224.0.0.1/cb", "224.0.0.0/4"),
            "userinfo": (f"https://user:pw@127.0.0.1:{port}/cb", "userinfo"),
            "host-not-allowed": ("https://evil.example.com/cb", "callback_hosts"),
            "not-a-url": ("javascript:alert(1)", "callback_url"),
        }
        ids = {}
        now = int(time.time() * 1000)
        for name, (url, _) in cases.items():
            iid = s.unique("ssrf")
            ids[iid] = name
            s.kcat.produce(s.topics["requested"], iid, requested_event(s.tenant_a, iid, url))
        for iid in ids:
            s.kcat.produce(s.topics["status"], iid, status_event(iid, "completed", now, 1))
        got = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] in ids, timeout=60,
                                    count=len(ids), what="a dead letter per SSRF case")
        reasons = {m["key"]: m["value"]["reason"] for m in got}
        for iid, name in ids.items():
            want = cases[name][1]
            with self.subTest(case=name):
                self.assertIn(iid, reasons, f"{name}: no dead letter")
                self.assertIn(want, reasons[iid], f"{name}: {reasons[iid]}")
                self.assertIn("refused", reasons[iid], f"{name}: {reasons[iid]}")
        self.assertEqual(s.sim.requests(), [], "a refused callback reached the simulator")


if __name__ == "__main__":
    unittest.main()
