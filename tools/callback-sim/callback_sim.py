#!/usr/bin/env python3
"""callback_sim: a scriptable stand-in for Workable's result callback endpoint.

The results-worker PUTs result payloads to the callback_url of each interview. In the local stack
and in the tests that URL points here. Every request (any method, any path outside /_sim/) is
recorded and answered from a per-path script, so tests can make the "Workable" side fail on cue.

    callback_sim.py --listen 127.0.0.1:8099 [--record FILE.jsonl] [--quiet]

Control API (same port, JSON):
    POST /_sim/script   {"path": "/interviews/1" | "*",
                         "responses": [{"status": 503, "delay_ms": 0, "body": "..." | {...},
                                        "headers": {"Retry-After": "1"}},
                                       {"mode": "reset"}, {"mode": "hang", "hang_ms": 5000}],
                         "then": {"status": 200}}
                        Responses are served in order for requests to that path, then "then"
                        forever (default {"status": 200}). "*" scripts every path without its own
                        script. Posting a script for a path replaces the previous one.
                        mode "reset": close the connection without answering (TCP RST);
                        mode "hang": read the request, answer nothing, close after hang_ms
                        (default: until /_sim/reset or shutdown).
                        mode "trickle": {"mode": "trickle", "status": 200, "body": ...,
                        "interval_ms": 100}: the whole response (status line, headers, body)
                        is written one byte at a time, interval_ms apart (a slow receiver);
                        recorded once written ("answered": the status) or once the client went
                        away ("answered": "trickle-dropped").
                        mode "huge": {"mode": "huge", "status": 200, "size": 8388608,
                        "chunked": false}: a body of size bytes, streamed (Content-Length, or
                        chunked transfer coding with "chunked": true); recorded before the
                        body is sent ("answered": the status); a client that stops reading
                        early just ends it; then "huge_sent" (bytes written) is added.
                        mode "mix": {"mode": "mix", "choices": [{"weight": 8, "status": 200},
                        {"weight": 1, "status": 503, "delay_ms": 50}, {"weight": 1, "mode":
                        "reset"}], "seed": 1}: each request draws one choice (random failures
                        for soak tests); usable in "responses" and in "then".
    GET  /_sim/requests[?path=P]      recorded requests (JSON array), optionally for one path
    GET  /_sim/wait?count=N&timeout=S[&path=P]
                        long-poll until at least N requests (for path P) are recorded; 200 with
                        the array, or 408 with the array recorded so far when S seconds pass
    POST /_sim/reset    forget requests and scripts, release hanging connections
    GET  /_sim/healthz  200

Recorded request (also one line of --record FILE.jsonl):
    {"ts": RFC 3339 UTC, "seq": n, "method", "path", "headers": {..}, "body": parsed JSON or
     text, "body_raw": text, "answered": status code | "reset" | "hang"}
A request is recorded once its answer has been written (or the connection dropped), so an
awaited record means the client has had the chance to see the answer. Python 3 stdlib only.
"""

import argparse
import copy
import datetime
import json
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 16 * 1024 * 1024
DEFAULT_RESPONSE = {"status": 200}


class SimState:
    """Scripts and records, shared by all handler threads."""

    def __init__(self, record_path=None, quiet=False):
        self.cond = threading.Condition()
        self.requests = []
        self.scripts = {}  # path -> {"queue": [...], "then": {...}}
        self.release = threading.Event()  # set to free hanging connections
        self.record_file = open(record_path, "a", encoding="utf-8") if record_path else None
        self.quiet = quiet

    def set_script(self, path, responses, then):
        with self.cond:
            self.scripts[path] = {"queue": list(responses), "then": then}

    def next_response(self, path):
        with self.cond:
            script = self.scripts.get(path) or self.scripts.get("*")
            if script is None:
                return dict(DEFAULT_RESPONSE)
            if script["queue"]:
                spec = script["queue"].pop(0)
            else:
                spec = copy.deepcopy(script["then"])
            if spec.get("mode") == "mix":
                rng = script.setdefault("rng", random.Random(spec.get("seed")))
                choices = spec.get("choices") or [DEFAULT_RESPONSE]
                weights = [max(0.0, float(c.get("weight", 1))) for c in choices]
                spec = copy.deepcopy(rng.choices(choices, weights=weights)[0])
                spec.pop("weight", None)
            return spec

    def reset(self):
        with self.cond:
            self.requests = []
            self.scripts = {}
            old, self.release = self.release, threading.Event()
            self.cond.notify_all()
        old.set()

    def record(self, entry):
        with self.cond:
            entry["seq"] = len(self.requests) + 1
            self.requests.append(entry)
            if self.record_file:
                self.record_file.write(json.dumps(entry, sort_keys=True) + "\n")
                self.record_file.flush()
            self.cond.notify_all()
        if not self.quiet:
            print(summary(entry), flush=True)

    def snapshot(self, path=None):
        with self.cond:
            return [r for r in self.requests if path is None or r["path"] == path]

    def wait(self, count, timeout, path=None):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [r for r in self.requests if path is None or r["path"] == path]
                if len(got) >= count:
                    return True, got
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, got
                self.cond.wait(left)


def summary(entry):
    body = entry["body"]
    if isinstance(body, dict):
        bits = [f"status={body.get('status')!r}"]
        interview = body.get("interview")
        if isinstance(interview, dict) and "score" in interview:
            bits.append(f"score={interview.get('score')!r}")
        text = " ".join(bits)
    else:
        text = f"{len(entry['body_raw'])} bytes"
    auth = "auth=yes" if "Authorization" in entry["headers"] else "auth=NO"
    return f"{entry['ts']} {entry['method']} {entry['path']} {auth} {text} -> {entry['answered']}"


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the worker may reuse connections
    server_version = "callback-sim/1"

    def log_message(self, fmt, *args):  # the summary line replaces the access log
        pass

    # -- plumbing ---------------------------------------------------------------------------------

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", headers=None, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        hdrs = dict(headers or {})
        if not any(k.lower() == "content-type" for k in hdrs) and body:
            hdrs["Content-Type"] = content_type
        for k, v in hdrs.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------------------------------

    def _handle(self):
        state = self.server.state
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self._send(400, {"status": 400, "message": "bad request body"})
            self.close_connection = True
            return
        if url.path.startswith("/_sim/"):
            self._control(state, url, raw)
            return
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        entry = {"ts": now_rfc3339(), "method": self.command, "path": url.path,
                 "query": url.query, "headers": dict(self.headers.items()), "body": body,
                 "body_raw": text}
        spec = state.next_response(url.path)
        mode = spec.get("mode")
        delay = spec.get("delay_ms", 0)
        if delay:
            time.sleep(delay / 1000.0)  # scripted slowness of the fake Workable, not a test sync
        if mode == "reset":
            entry["answered"] = "reset"
            self._reset_connection()
            state.record(entry)
            return
        if mode == "hang":
            entry["answered"] = "hang"
            release = state.release
            state.record(entry)  # recorded now: the client is waiting for it
            hang_ms = spec.get("hang_ms")
            release.wait(None if hang_ms is None else hang_ms / 1000.0)
            self._reset_connection()
            return
        if mode == "trickle":
            self._trickle(state, entry, spec)
            return
        if mode == "huge":
            self._huge(state, entry, spec)
            return
        status = int(spec.get("status", 200))
        entry["answered"] = status
        # Recorded before answering: once the client has its response, /_sim/requests shows it.
        state.record(entry)
        self._send(status, spec.get("body", b""), spec.get("headers"),
                   spec.get("content_type", "application/json"))

    def _trickle(self, state, entry, spec):
        status = int(spec.get("status", 200))
        body = spec.get("body", b"")
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        reason = self.responses.get(status, ("",))[0]
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n" \
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        data = head.encode("latin-1") + body
        interval = float(spec.get("interval_ms", 100)) / 1000.0
        self.close_connection = True
        entry["answered"] = status
        try:
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                if i + 1 < len(data):
                    time.sleep(interval)  # scripted slowness of the fake Workable
        except OSError:
            entry["answered"] = "trickle-dropped"
        state.record(entry)

    def _huge(self, state, entry, spec):
        status = int(spec.get("status", 200))
        size = int(spec.get("size", 8 * 1024 * 1024))
        chunked = bool(spec.get("chunked", False))
        entry["answered"] = status
        entry["huge"] = size
        state.record(entry)
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        block = b"x" * 65536
        left = size
        try:
            while left > 0:
                n = min(left, len(block))
                if chunked:
                    self.wfile.write(b"%x\r\n" % n + block[:n] + b"\r\n")
                else:
                    self.wfile.write(block[:n])
                left -= n
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass  # the client stopped reading (a response size cap): that is its right
        with state.cond:  # body bytes handed to the socket, shown by /_sim/requests
            entry["huge_sent"] = size - left

    def _control(self, state, url, raw):
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path, method = url.path, self.command
        try:
            if path == "/_sim/healthz" and method == "GET":
                self._send(200, {"ok": True})
            elif path == "/_sim/requests" and method == "GET":
                self._send(200, state.snapshot(q.get("path")))
            elif path == "/_sim/wait" and method == "GET":
                count = int(q.get("count", "1"))
                timeout = float(q.get("timeout", "10"))
                ok, got = state.wait(count, timeout, q.get("path"))
                self._send(200 if ok else 408, got)
            elif path == "/_sim/reset" and method == "POST":
                state.reset()
                self._send(200, {"ok": True})
            elif path == "/_sim/script" and method == "POST":
                spec = json.loads(raw.decode("utf-8") or "{}")
                if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
                    raise ValueError('"path" (string) is required')
                responses = spec.get("responses", [])
                then = spec.get("then", DEFAULT_RESPONSE)
                if not isinstance(responses, list) or not all(isinstance(r, dict) for r in
                                                              responses + [then]):
                    raise ValueError('"responses" must be a list of objects, "then" an object')
                for r in responses + [then]:
                    if r.get("mode") not in (None, "reset", "hang", "mix", "trickle", "huge"):
                        raise ValueError(f"unknown mode {r.get('mode')!r}")
                    if r.get("mode") == "mix":
                        ch = r.get("choices")
                        if not isinstance(ch, list) or not ch or not all(
                                isinstance(c, dict) and
                                c.get("mode") in (None, "reset", "hang", "trickle", "huge")
                                for c in ch):
                            raise ValueError('"mix" needs "choices": a list of responses')
                state.set_script(spec["path"], responses, then)
                self._send(200, {"ok": True})
            else:
                self._send(404, {"status": 404, "message": f"no control endpoint {method} {path}"})
        except ValueError as exc:
            self._send(400, {"status": 400, "message": str(exc)})

    do_PUT = do_POST = do_GET = do_DELETE = do_PATCH = do_HEAD = _handle


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # listen backlog: many concurrent clients in soak tests

    def __init__(self, addr, state):
        super().__init__(addr, Handler)
        self.state = state


def parse_listen(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Scriptable Workable callback receiver")
    ap.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 8099),
                    help="HOST:PORT to listen on (port 0 picks a free one) [127.0.0.1:8099]")
    ap.add_argument("--record", help="append every request as a JSON line to this file")
    ap.add_argument("--quiet", action="store_true", help="no per-request summary on stdout")
    args = ap.parse_args(argv)
    state = SimState(args.record, args.quiet)
    server = SimServer(args.listen, state)
    host, port = server.server_address[:2]
    # First line is machine-readable so a parent process can learn an ephemeral port.
    print(f"callback-sim listening on http://{host}:{port}", flush=True)

    def on_term(signum, frame):  # as a container's PID 1, SIGTERM has no default action
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        state.release.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
