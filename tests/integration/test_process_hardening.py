"""Both services run without core dumps: the core size limit is 0 (soft and hard), set by the
service itself at start, so a crash never writes the tenants' Workable tokens or the HMAC secret
to disk. The test starts them with a non-zero inherited limit."""

import resource
import unittest

from harness import StackTestCase


def core_limit(pid):
    with open(f"/proc/{pid}/limits", encoding="ascii") as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    raise AssertionError(f"no core limit in /proc/{pid}/limits")


class NoCoreDumpsTest(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.saved = resource.getrlimit(resource.RLIMIT_CORE)
        hard = cls.saved[1]
        soft = 1 << 20 if hard == resource.RLIM_INFINITY else min(1 << 20, hard)
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))  # inherited by the services
        try:
            super().setUpClass()
        finally:
            resource.setrlimit(resource.RLIMIT_CORE, cls.saved)

    def test_core_limit_is_zero(self):
        for svc in (self.stack.gateway, self.stack.worker):
            with self.subTest(service=svc.name):
                self.assertEqual(core_limit(svc.proc.pid), ["0", "0"])


if __name__ == "__main__":
    unittest.main()
