#!/usr/bin/env python3
"""Both services fail the same way on a bad configuration value: one error line
"configuration: NAME: reason" and exit status 2, before they connect to anything.

usage: config_exit_status.py API_GATEWAY_BIN RESULTS_WORKER_BIN
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

GATEWAY, WORKER = sys.argv[1], sys.argv[2]
CONFIG_EXIT = 2


def run(binary, env):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    base.update(env)
    r = subprocess.run([binary], env=base, capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout + r.stderr


def error_lines(output):
    lines = []
    for raw in output.splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if rec.get("level") == "error":
            lines.append(rec.get("msg", ""))
    return lines


class ConfigExitStatus(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.tenants = os.path.join(self.tmp.name, "tenants.json")
        with open(self.tenants, "w") as f:
            f.write('{"tenants": []}')

    def tearDown(self):
        self.tmp.cleanup()

    def expect(self, binary, env, prefix):
        rc, out = run(binary, env)
        self.assertEqual(rc, CONFIG_EXIT, f"{os.path.basename(binary)} {env}: exit {rc}\n{out}")
        errors = error_lines(out)
        self.assertTrue(any(m.startswith(prefix) for m in errors),
                        f"{os.path.basename(binary)} {env}: no error line starting with "
                        f"{prefix!r}\n{out}")

    def both(self, env, prefix):
        for binary, listen in ((GATEWAY, "GATEWAY_LISTEN"), (WORKER, "WORKER_LISTEN")):
            with self.subTest(binary=os.path.basename(binary)):
                e = {"TENANTS_FILE": self.tenants}
                e.update({k.replace("*_LISTEN", listen): v for k, v in env.items()})
                self.expect(binary, e, prefix.replace("*_LISTEN", listen))

    def test_log_level(self):
        self.both({"LOG_LEVEL": "verbose"},
                  "configuration: LOG_LEVEL: 'verbose' is not one of debug, info, warn, error")

    def test_listen(self):
        for bad in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "garbage", "[::1]"):
            self.both({"*_LISTEN": bad}, "configuration: *_LISTEN: ")

    def test_boolean(self):
        self.both({"ALLOW_INSECURE_CALLBACKS": "maybe"},
                  "configuration: ALLOW_INSECURE_CALLBACKS: 'maybe' is not a boolean")

    def test_interview_id_secret_required(self):
        """The gateway refuses to start without INTERVIEW_ID_SECRET (an empty HMAC key makes
        interview ids predictable) unless ALLOW_INSECURE_CALLBACKS=1."""
        for env in ({}, {"INTERVIEW_ID_SECRET": ""}, {"ALLOW_INSECURE_CALLBACKS": "0"}):
            with self.subTest(env=env):
                e = {"TENANTS_FILE": self.tenants}
                e.update(env)
                self.expect(GATEWAY, e, "configuration: INTERVIEW_ID_SECRET: is required")

    def test_tenants_file(self):
        for binary in (GATEWAY, WORKER):
            with self.subTest(binary=os.path.basename(binary)):
                self.expect(binary, {}, "configuration: TENANTS_FILE: is required")
                self.expect(binary, {"TENANTS_FILE": ""},
                            "configuration: TENANTS_FILE: must not be empty")
                self.expect(binary, {"TENANTS_FILE": os.path.join(self.tmp.name, "none.json")},
                            "configuration: ")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
