"""Unit tests of bench/lib and bench/report.py: figures, the JSON file of a run, the report's
merging and its completeness check, the measuring step's arguments. Standard library only:

    python3 -m unittest discover -s bench/tests        (bench/run --smoke runs them first)
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import measure  # noqa: E402
import report  # noqa: E402
from lib.config import Config, Ports  # noqa: E402
from lib.results import Log, Results, key  # noqa: E402
from lib.stats import Figure, percentile, quotient, ratio  # noqa: E402


def run_of(date, commit, mode="quick", load="0.1 0.2 0.3"):
    meta = {"date": date, "commit": commit, "mode": mode, "source": f"work tree at {commit}",
            "facts": [["nproc", 2], ["load average at start", load], ["services built from", commit]],
            "versions": {"benthos": "v4", "franz": "v1", "vegeta": "v12"}, "log_level": "info",
            "kafka": {"port": 1, "data": "/tmp/k"}}
    return Results(meta, Config.of(mode).to_json(), Log([f"[00:00:00] run {commit}"]))


def complete_run(date="2026-01-01 00:00 UTC", commit="aaaaaaa", value=10.0):
    """A run holding every figure and value the report shows (found by rendering an empty one)."""
    r = run_of(date, commit)
    r.values.update({"post_rates": [150, 200], "post_low_rate": 100, "get_rate": 50, "req_size": 407, "catchup_n": 1000,
                     "st_size": 640})
    for c in report.CONNS:
        for k in ("ours", "benthos", "nginx"):
            r.values[key(k, "post", "bad", c)] = 0
        r.values[key("ours", "post", "view", c)] = [1000.0, 1048576.0]
    r.profiles = {"gateway": "gw profile", "gateway_get": "gw get profile", "worker": "worker profile"}
    _, missing = report.render([r])
    for k in missing:
        r.figures[k] = Figure([value, value + 1, value + 2], "x", "{:.1f}", "test")
    r.parts = ["gateway", "rss256", "worker", "catchup", "limits", "profile"]
    return r


class FigureTest(unittest.TestCase):
    def test_median_and_range(self):
        f = Figure([3, 1, 2], "ms", "{:.1f}")
        self.assertEqual(f.med, 2)
        self.assertEqual(str(f), "2.0 (1.0–3.0)")

    def test_one_sample_has_no_range(self):
        self.assertEqual(str(Figure([5], "ms")), "5")

    def test_missing_samples_are_dropped(self):
        f = Figure([None, float("nan"), 4.0], "ms")
        self.assertEqual(f.samples, [4.0])
        self.assertEqual(str(Figure([], "ms")), "n/a")
        self.assertIsNone(Figure([None], "ms").med)

    def test_json_round_trip(self):
        f = Figure([1, 2], "µs", "{:.2f}", "how")
        g = Figure.from_json(json.loads(json.dumps(f.to_json())))
        self.assertEqual((g.samples, g.unit, g.fmt, g.method), ([1.0, 2.0], "µs", "{:.2f}", "how"))

    def test_ratio_of_medians(self):
        self.assertEqual(ratio(Figure([10, 30, 20], ""), Figure([5], "")), "4.00")
        self.assertEqual(ratio(Figure([1], ""), Figure([0], "")), "n/a")
        self.assertEqual(ratio(Figure([], ""), Figure([1], "")), "n/a")
        self.assertIsNone(quotient(None, Figure([1], "")))

    def test_percentile(self):
        xs = list(range(101))
        self.assertEqual(percentile(xs, 0.5), 50)
        self.assertEqual(percentile(xs, 0.99), 99)
        self.assertIsNone(percentile([], 0.5))


class ResultsTest(unittest.TestCase):
    def test_write_read_round_trip_without_nan(self):
        r = run_of("d", "c")
        r.figure("ours/drain_rate", [1.0, 2.0], "/s", method="m")
        r.values["ours/post/view/16"] = [float("nan"), 3.0]
        r.failures.append({"part": "limits", "error": "E"})
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "run.json")
            r.write(p)
            with open(p) as f:
                text = f.read()
            self.assertNotIn("NaN", text)
            s = Results.read(p)
        self.assertEqual(s.figures["ours/drain_rate"].samples, [1.0, 2.0])
        self.assertEqual(s.figures["ours/drain_rate"].method, "m")
        self.assertEqual(s.values["ours/post/view/16"], [None, 3.0])
        self.assertEqual(s.failures, [{"part": "limits", "error": "E"}])
        self.assertEqual(s.meta["commit"], "c")

    def test_read_refuses_another_format(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.json")
            with open(p, "w") as f:
                json.dump({"format": "other"}, f)
            with self.assertRaises(ValueError):
                Results.read(p)

    def test_key(self):
        self.assertEqual(key("ours", "post", "rps", 64), "ours/post/rps/64")


class ReportTest(unittest.TestCase):
    def test_complete_run_has_every_section_and_figure(self):
        text, missing = report.render([complete_run()])
        self.assertEqual(report.check(text, missing), [])
        self.assertIn("## Targets\n", text)
        self.assertNotIn("issue", text.lower())
        self.assertIn("| req/s, 64 conns | 11.0 (10.0–12.0) | 11.0 (10.0–12.0) |", text)
        self.assertIn("gw profile", text)
        self.assertIn("gw get profile", text)

    def test_missing_figure_and_section_are_reported(self):
        r = complete_run()
        del r.figures["ours/drain_rate"]
        r.profiles = {}
        text, missing = report.render([r])
        problems = report.check(text, missing)
        self.assertIn("not measured: ours/drain_rate", problems)
        self.assertIn("not measured: profile/worker", problems)
        self.assertIn("not measured: profile/gateway_get", problems)
        self.assertEqual(report.check("# BENCHMARKS\n", []),
                         [f"section missing: {s}" for s in report.SECTIONS[1:]])

    def test_later_run_replaces_earlier_and_each_run_is_named(self):
        a = complete_run("2026-01-01 00:00 UTC", "aaaaaaa", 10.0)
        b = run_of("2026-01-02 00:00 UTC", "bbbbbbb", load="9.0 9.0 9.0")
        b.figures["ours/post/rps/64"] = Figure([500], "req/s")
        b.parts = ["gateway"]
        text, missing = report.render([a, b])
        self.assertEqual(missing, [])
        self.assertIn("2026-01-01 00:00 UTC at commit aaaaaaa (gateway, rss256, worker, catchup, limits, profile); "
                      "2026-01-02 00:00 UTC at commit bbbbbbb (gateway)", text)
        self.assertIn("| req/s, 64 conns | 500 | 11.0 (10.0–12.0) |", text)  # b's replaced a's
        self.assertIn("| req/s, 16 conns | 11.0 (10.0–12.0) |", text)      # a's kept
        self.assertIn("- load average at start: run 1: 0.1 0.2 0.3 | run 2: 9.0 9.0 9.0", text)
        self.assertIn("--- run 2 of the report (2026-01-02 00:00 UTC) ---", text)

    def test_failures_are_named_in_the_report(self):
        r = complete_run()
        r.failures.append({"part": "limits", "error": "RuntimeError: wrk failed\nmore"})
        text, _ = report.render([r])
        self.assertIn("**Failed** in run 1 (2026-01-01 00:00 UTC): limits: RuntimeError: wrk failed", text)

    def test_targets_verdicts(self):
        r = complete_run()
        r.figures["ours/post/rps/64"] = Figure([300], "req/s")
        r.figures["benthos/post/rps/64"] = Figure([100], "req/s")
        r.figures["ours/post/rps/16"] = Figure([199], "req/s")
        r.figures["benthos/post/rps/16"] = Figure([100], "req/s")
        r.figures["ours/post/rss_fresh/256"] = Figure([40], "MiB", "{:.1f}")
        r.figures["ours/post/p50/100"] = Figure([1.4], "ms", "{:.2f}")
        r.figures["kafka/ack_p50"] = Figure([0.4], "ms", "{:.3f}")
        r.figures["ours/post/p99/150"] = Figure([21], "ms")  # half of ours at 64 conns: 150/s
        r.figures["nginx/post/p99/150"] = Figure([10], "ms")
        text, _ = report.render([r])
        self.assertIn("| POST req/s ≥ 3× Benthos at 64 conns | 3.00× | met |", text)
        self.assertIn("| POST req/s ≥ 2× Benthos at 16 conns | 1.99× | **missed** |", text)
        self.assertIn("| POST p50 ≤ 1.5 ms at 100/s (limit: the acknowledgement round trip, p50 0.400 ms) "
                      "| 1.40 ms | met |", text)
        self.assertIn("| POST p99 at half our saturation (150/s) ≤ 2× nginx's p99 at that rate | 2.10× "
                      "| **missed** |", text)
        self.assertIn("(holds the run's 11 interviews) | 40.0 MiB | **missed** |", text)
        self.assertIn("| p50 ms @ 100/s | 1.40 |", text)

    def test_main_writes_the_report(self):
        with tempfile.TemporaryDirectory() as d:
            p, out = os.path.join(d, "run.json"), os.path.join(d, "B.md")
            complete_run().write(p)
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(report.main([p, "--out", out, "--check"]), 0)
            with open(out) as f:
                self.assertTrue(f.read().startswith("# BENCHMARKS\n"))


class ConfigTest(unittest.TestCase):
    def test_modes(self):
        self.assertEqual(Config.of("full").runs, 3)
        self.assertEqual(Config.of("smoke").runs, 1)
        self.assertLess(Config.of("smoke").backlog, Config.of("quick").backlog)
        with self.assertRaises(ValueError):
            Config.of("fast")

    def test_ports(self):
        p = Ports.from_base(25080, 25192)
        self.assertEqual((p.gateway, p.worker, p.benthos, p.nginx, p.sink, p.kafka),
                         (25080, 25081, 25082, 25083, 25180, 25192))


class MeasureArgsTest(unittest.TestCase):
    def test_parts(self):
        self.assertEqual(measure.parse_args(["--json", "x"]).parts,
                         ["gateway", "rss256", "worker", "catchup", "limits", "profile"])
        self.assertEqual(measure.parse_args(["--json", "x", "--only", "gateway"]).parts, ["gateway", "rss256"])
        self.assertEqual(measure.parse_args(["--json", "x", "--no-profile", "--only", "worker,profile"]).parts,
                         ["worker"])
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            measure.parse_args(["--json", "x", "--only", "gatway"])

    def test_capped_rate(self):
        self.assertEqual(measure.capped(Config.of("smoke"), 5000.7), 300)
        self.assertEqual(measure.capped(Config.of("full"), 5000.7), 5000)
        self.assertEqual(measure.capped(Config.of("full"), 0), 1)


if __name__ == "__main__":
    unittest.main()
