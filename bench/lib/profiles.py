"""CPU profiles: perf record -e cpu-clock (hardware counters are not available here), self time."""

import subprocess


class PerfRecord:
    """perf record of pid for secs, started at once; wait() then report()."""

    def __init__(self, pid, secs, data):
        self.data = data
        self.p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(pid),
                                   "-o", data, "--", "sleep", str(secs)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait(self):
        _, err = self.p.communicate()
        if self.p.returncode != 0:
            raise RuntimeError(f"perf record exited {self.p.returncode}: {err[-2000:]}")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def report(self, n=18):
        """The top libraries and symbols, as text."""
        def rows(sort, limit):
            p = subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--no-children",
                                "--sort", sort, "-g", "none", "--percent-limit", limit],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"perf report exited {p.returncode}: {p.stderr[-2000:]}")
            return [l.rstrip() for l in p.stdout.splitlines() if l.strip() and not l.startswith("#")]
        dso, sym = rows("dso", "0.5"), rows("dso,symbol", "0.8")
        if any("has no samples" in l for l in dso):  # perf report says so and exits 0
            return "no samples in the window (the process was idle)"
        return "by library:\n" + "\n".join(dso[:10]) + "\n\nby symbol (self):\n" + "\n".join(sym[:n])
