"""Figures and the statistics of the report: median, min-max, ratio of medians."""

import math
import statistics


def clean(x):
    """x unless it is None or NaN."""
    return x if x is not None and not (isinstance(x, float) and math.isnan(x)) else None


class Figure:
    """One measured figure: the value of each run (its samples), its unit, how it is printed and
    how it was measured. Printed as the median with (min–max) when there are several runs."""

    def __init__(self, samples, unit, fmt="{:.0f}", method=""):
        self.samples = [float(v) for v in samples if clean(v) is not None]
        self.unit, self.fmt, self.method = unit, fmt, method

    @property
    def med(self):
        return statistics.median(self.samples) if self.samples else None

    def __str__(self):
        if not self.samples:
            return "n/a"
        f = self.fmt
        if len(self.samples) == 1:
            return f.format(self.samples[0])
        return f"{f.format(self.med)} ({f.format(min(self.samples))}–{f.format(max(self.samples))})"

    def to_json(self):
        return {"unit": self.unit, "fmt": self.fmt, "method": self.method, "samples": self.samples}

    @staticmethod
    def from_json(d):
        return Figure(d["samples"], d["unit"], d.get("fmt", "{:.0f}"), d.get("method", ""))


def quotient(a, b):
    """median(a) / median(b), None when either is missing or b's is 0."""
    if a is None or b is None or a.med is None or not b.med:
        return None
    return a.med / b.med


def ratio(a, b):
    q = quotient(a, b)
    return "n/a" if q is None else f"{q:.2f}"


def percentile(sorted_xs, p):
    if not sorted_xs:
        return None
    i = min(len(sorted_xs) - 1, max(0, int(round(p * (len(sorted_xs) - 1)))))
    return sorted_xs[i]
