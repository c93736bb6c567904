#!/usr/bin/env python3
"""The service binaries are built hardened (CMakeLists.txt, IB_HARDEN): position-independent
(ELF type DYN with an interpreter), full RELRO (a GNU_RELRO segment and BIND_NOW), a
non-executable stack, stack protector (__stack_chk_fail imported) and, in optimised builds,
_FORTIFY_SOURCE (checked __*_chk functions imported). Reads the binaries with readelf.

usage: check_hardening.py [--fortify] BINARY...
"""
import re
import subprocess
import sys
import unittest

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
FORTIFY = "--fortify" in sys.argv[1:]


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True,
                          check=True).stdout


class Hardening(unittest.TestCase):
    def each(self, check):
        self.assertTrue(ARGS, "no binaries given")
        for path in ARGS:
            with self.subTest(binary=path):
                check(path)

    def test_pie(self):
        def check(path):
            self.assertRegex(readelf("-h", path), r"Type:\s+DYN")
            self.assertIn("INTERP", readelf("-l", path))
        self.each(check)

    def test_full_relro(self):
        def check(path):
            self.assertIn("GNU_RELRO", readelf("-l", path))
            dyn = readelf("-d", path)
            self.assertTrue(re.search(r"\(FLAGS\).*BIND_NOW", dyn) or
                            re.search(r"\(FLAGS_1\).*NOW", dyn), "no BIND_NOW: partial RELRO")
        self.each(check)

    def test_noexec_stack(self):
        def check(path):
            stack = [ln for ln in readelf("-l", path).splitlines() if "GNU_STACK" in ln]
            self.assertEqual(len(stack), 1)
            self.assertNotIn("E", stack[0].split()[-2], stack[0])
        self.each(check)

    def test_stack_protector(self):
        def check(path):
            self.assertTrue("__stack_chk_fail" in readelf("--dyn-syms", path),
                            "no __stack_chk_fail import: no stack protector")
        self.each(check)

    def test_fortify(self):
        if not FORTIFY:
            self.skipTest("not an optimised, non-sanitizer build")

        def check(path):
            chk = set(re.findall(r"\b__\w+_chk\b", readelf("--dyn-syms", path)))
            chk.discard("__stack_chk_fail")
            self.assertTrue(chk, "no _FORTIFY_SOURCE checked function imported")
        self.each(check)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
