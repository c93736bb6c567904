"""Processes we start and what /proc says about them; waiting for readiness."""

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def run(cmd, **kw):
    """Runs cmd to completion; raises with its output when it fails."""
    p = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:6]))} ... exited {p.returncode}:\n"
                           f"{(p.stdout + p.stderr)[-2000:]}")
    return p


class Proc:
    """A process we started in its own session, pinned with taskset; stopped by its pid only."""

    def __init__(self, name, argv, cpu, log_path, env=None, cwd=None):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(["taskset", "-c", cpu] + argv, env=env, cwd=cwd,
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.p.pid  # taskset execs the program: same pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=20):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if not self.log.closed:
            self.log.close()

    def tail(self, n=20):
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")


class ProcSet:
    """Every process of a run: started through it, stopped by it (stop_all on any exit)."""

    def __init__(self, work):
        self.work, self.procs = work, []

    def start(self, name, argv, cpu, env=None, cwd=None):
        p = Proc(name, argv, cpu, os.path.join(self.work, f"{name}.log"), env, cwd)
        self.procs.append(p)
        return p

    def stop(self, p):
        p.stop()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        while self.procs:
            self.stop(self.procs[-1])


def cpu_seconds(pid):
    """utime+stime of the whole process (every thread), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Max VmRSS of pid while a load runs (sampled every 100 ms in a thread)."""

    def __init__(self, pid):
        self.pid, self.max, self.done = pid, 0, threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.done.is_set():
            try:
                self.max = max(self.max, rss_kib(self.pid))
            except OSError:
                return
            self.done.wait(0.1)

    def stop(self):
        self.done.set()
        self.t.join()
        return self.max


def http(method, url, body=None, headers=None, timeout=5):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(fn, timeout, what, proc=None):
    """Polls fn every 100 ms until it is true; fails after timeout, or at once when proc (the
    process that should make it true) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except OSError:
            pass
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited while waiting for {what}:\n{proc.tail()}")
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_port_free(port, timeout=120):
    wait_until(lambda: port_free(port), timeout, f"127.0.0.1:{port} to be free")
