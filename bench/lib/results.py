"""One run's results and their JSON file (one file per run): what was measured (figures with all
their samples and the method of each), derived values (rates chosen, record sizes, view sizes),
profiles, the parts that failed, the machine, the commit, the log."""

import datetime
import json
import math

from .stats import Figure

FORMAT = "interview-bridge-bench/1"


def key(*parts):
    """The name of a figure or value: its parts joined by "/" (e.g. "ours/post/rps/64")."""
    return "/".join(str(p) for p in parts)


class Log:
    """The run log: printed as it goes, kept for the report."""

    def __init__(self, lines=None):
        self.lines = list(lines or [])

    def say(self, msg):
        line = f"[{datetime.datetime.now().strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.lines.append(line)


class Results:
    def __init__(self, meta, config, log):
        self.meta = meta          # date, commit, mode, source, facts, versions
        self.config = config      # lib.config.Config of the run (as JSON)
        self.log = log
        self.figures = {}         # key -> Figure
        self.values = {}          # key -> number, list or text
        self.profiles = {}        # gateway | worker -> text
        self.parts = []           # the parts that completed
        self.failures = []        # {"part", "error"}

    def figure(self, k, samples, unit, fmt="{:.0f}", method=""):
        f = Figure(samples, unit, fmt, method)
        self.figures[k] = f
        return f

    def to_json(self):
        return _finite({"format": FORMAT, "meta": self.meta, "config": self.config,
                        "parts": self.parts, "failures": self.failures,
                        "figures": {k: f.to_json() for k, f in self.figures.items()},
                        "values": self.values, "profiles": self.profiles, "log": self.log.lines})

    def write(self, path):
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1, ensure_ascii=False, allow_nan=False)
            f.write("\n")

    @staticmethod
    def read(path):
        with open(path) as f:
            d = json.load(f)
        if d.get("format") != FORMAT:
            raise ValueError(f"{path}: not a bench run ({FORMAT}); format {d.get('format')!r}")
        r = Results(d["meta"], d["config"], Log(d["log"]))
        r.figures = {k: Figure.from_json(v) for k, v in d["figures"].items()}
        r.values, r.profiles = d["values"], d["profiles"]
        r.parts, r.failures = d["parts"], d["failures"]
        return r


def _finite(x):
    """x with every NaN/inf replaced by None (the JSON stays standard)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x
