"""results-worker SSRF refusals with ALLOW_INSECURE_CALLBACKS=0: every callback URL
that breaks the rules ends in the dead-letter topic with its reason, and nothing reaches the
callback simulator (which listens on loopback: exactly what must be refused)."""

import ipaddress
import socket
import time
import unittest

from harness import StackTestCase
from worker_util import requested_event, status_event


def _private_name():
    """A host name other than localhost that this machine resolves only to non-public
    addresses (the host's own name, from /etc/hosts), or None."""
    for name in (socket.gethostname(), "ip6-localhost", "localhost.localdomain"):
        if not name or name == "localhost" or not name.replace("-", "").replace(".", "").isalnum():
            continue
        try:
            addrs = {a[4][0] for a in socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)}
        except OSError:
            continue
        if addrs and all(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addrs):
            return name.lower()
    return None


PRIVATE_NAME = _private_name()

# The tenant's callback_hosts name the hostile IPv4 hosts too, so that the address checks (not
# only the host rule) are exercised. The tenants file accepts no IPv6 literals, so IPv6 URLs are
# refused by the host rule here; their address checks are covered by tests/unit (test_ssrf.c).
HOSTS = ["127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "0.0.0.0", "192.168.1.1",
         "100.64.0.1", "224.0.0.1", "groove-tech.workable.com", "172.16.0.1", "172.31.255.255"] + \
    ([PRIVATE_NAME] if PRIVATE_NAME else [])


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
            "unspecified": ("https://0.0.0.0/cb", "0.0.0.0"),
            "link-local-v6": ("https://[fe80::1]/cb", "callback_hosts"),
            "nat64": ("https://[64:ff9b::a9fe:a9fe]/cb", "callback_hosts"),
            "multicast": ("https://224.0.0.1/cb", "224.0.0.0/4"),
            "userinfo": (f"https://user:pw@127.0.0.1:{port}/cb", "userinfo"),
            "host-not-allowed": ("https://evil.example.com/cb", "callback_hosts"),
            "not-a-url": ("javascript:alert(1)", "callback_url"),
            # address spellings and userinfo tricks
            "private-172-16": ("https://172.16.0.1/cb", "172.16.0.0/12"),
            "private-172-31": ("https://172.31.255.255/cb", "172.16.0.0/12"),
            "loopback-short-form": (f"https://127.1:{port}/cb", "127.0.0.0/8"),
            "userinfo-allowed-host-before-at": (
                f"https://groove-tech.workable.com@127.0.0.1:{port}/cb", "userinfo"),
            "userinfo-allowed-host-as-password": (
                "https://x:groove-tech.workable.com@evil.example/cb", "userinfo"),
            # the callback-URL policy the gateway applies too (shared/src/callback_url.c)
            "port-not-allowed": ("https://groove-tech.workable.com:8443/cb", "callback_ports"),
            "port-zero": ("https://groove-tech.workable.com:0/cb", "callback_url"),
            "zone-id": ("https://[fe80::1%25eth0]/cb", "callback_url"),
            "login-options": ("https://;o@groove-tech.workable.com/cb", "userinfo"),
            "suffix-of-allowed-host": ("https://groove-tech.workable.com.evil.example/cb",
                                       "callback_hosts"),
            "allowed-host-as-suffix": ("https://evilgroove-tech.workable.com/cb",
                                       "callback_hosts"),
        }
        if PRIVATE_NAME:  # a name in callback_hosts that resolves to a private address
            # No port: the tenant allows none besides 443, and the address check is the point.
            cases["name-resolving-to-private"] = (f"https://{PRIVATE_NAME}/cb", "resolves to")
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

        self.assertIsNotNone(PRIVATE_NAME, "no host name resolving to a private address here")


class WorkerRedirectToPrivateTest(StackTestCase):
    """With ALLOW_INSECURE_CALLBACKS=1 (loopback reachable), a callback answering a redirect to
    a private address: never followed (README: FOLLOWLOCATION 0, a 3xx is a permanent failure),
    so a dead letter at once with the 3xx in its reason, and nothing reaches the target."""
    with_gateway = False
    worker_env = {"ALLOW_INSECURE_CALLBACKS": "1", "RETRY_SCHEDULE": "0s,200ms",
                  "RETRY_MAX_AGE": "5s", "CALLBACK_TIMEOUT": "2s"}

    def test_redirects_to_private_addresses_are_not_followed(self):
        s = self.stack
        now = int(time.time() * 1000)
        cases = {}
        for code in (301, 302, 303, 307, 308):
            for target in ("http://127.0.0.1:{port}/internal/{iid}",
                           "http://169.254.169.254/latest/meta-data/",
                           "http://10.0.0.1/admin", "http://[::1]:{port}/internal/{iid}"):
                iid = s.unique("redir")
                path = f"/cb/{iid}"
                loc = target.format(port=s.sim.port, iid=iid)
                s.sim.script(path, then={"status": code, "headers": {"Location": loc}})
                s.kcat.produce(s.topics["requested"], iid,
                               requested_event(s.tenant_a, iid, s.sim.url(path)))
                cases[iid] = (code, loc, path)
        for iid in cases:
            s.kcat.produce(s.topics["status"], iid, status_event(iid, "completed", now, 1))
        got = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] in cases, timeout=60,
                                    count=len(cases), what="a dead letter per redirect")
        by = {m["key"]: m["value"] for m in got}
        for iid, (code, loc, path) in cases.items():
            with self.subTest(code=code, location=loc):
                dl = by[iid]
                self.assertTrue(dl["reason"].startswith(f"permanent callback failure: HTTP {code}"),
                                dl["reason"])
                self.assertEqual(dl["attempts"], 1, dl)
                self.assertEqual(len(s.sim.requests(path)), 1)
        internal = [r for r in s.sim.requests() if r["path"].startswith("/internal/")]
        self.assertEqual(internal, [], "a redirect was followed")
        print(f"\nredirects refused: {len(cases)}", flush=True)


if __name__ == "__main__":
    unittest.main()
