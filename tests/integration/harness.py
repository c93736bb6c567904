"""Integration-test harness: a real Kafka broker, the two services, the callback simulator.

Python 3 stdlib + kcat only. Used by test_*.py in this directory (python3 -m unittest) and by
ctest (see CMakeLists.txt). As a script it starts/stops the shared test broker for ctest's
fixture:  python3 harness.py kafka-start | kafka-stop

Environment:
  IB_GATEWAY_BIN, IB_WORKER_BIN   the service binaries (ctest sets them)
  IB_REPO_ROOT                    repository root [two levels above this file]
  IB_TEST_KAFKA_PORT              port of the test broker [19092]
  IB_TEST_KAFKA_DATA_DIR          its data dir [/tmp/ib-it-kafka-<port>]
  IB_TEST_KAFKA_BOOTSTRAP         use this broker instead (never started/stopped/paused by us)
  IB_TEST_ARTIFACTS_DIR           where service logs go [a fresh temp dir]; kept on failure
  IB_TEST_DEFAULT_TOPICS=1        use the design's topic names instead of per-class topics
  IB_TEST_PATIENCE                factor applied to every wait's deadline [3]

Synchronisation rule: tests await events (the simulator's /_sim/wait long-poll, a topic or an
endpoint polled against a deadline); they never sleep for a fixed time.

Deadlines are hang guards, not performance bounds: a wait returns as soon as its event happens,
so only a test that fails anyway waits the whole deadline. Every deadline given to await_true,
Sim.wait (and what is built on them) is multiplied by IB_TEST_PATIENCE, so the deadlines
written in the tests (what an idle developer machine needs) also hold under ASan or valgrind on
two busy cores: a slow machine makes a test slower, never makes it fail. A bound that is itself
the promise under test (a connection cut at a 2 s deadline, a retry not before Retry-After) is
measured explicitly in the test, never through a deadline.
"""

import atexit
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import secrets
import signal
import random
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.environ.get("IB_REPO_ROOT") or os.path.dirname(os.path.dirname(HERE))
SIM = os.path.join(REPO_ROOT, "tools", "callback-sim", "callback_sim.py")
KAFKA_SCRIPT = os.path.join(REPO_ROOT, "scripts", "kafka")

DEFAULT_TOPICS = {
    "requested": "interviews.requested",
    "status": "interviews.status",
    "catalog": "interviews.catalog",
    "retry": "interviews.callbacks.retry",
    "dlq": "interviews.callbacks.dlq",
    "repartition": "interviews.status.repartition",
    "state": "interviews.state",
}

# The contract's example POST /interviews body (its trailing comma removed: it is not JSON).
CONTRACT_POST_BODY = {
    "interview_template_id": "12345",
    "job_id": "6789",
    "job_title": "Operations Manager",
    "callback_url": "https://groove-tech.workable.com/interviews/8823119",
    "candidate": {
        "first_name": "Lakita",
        "last_name": "Marrero",
        "phone": "(785)991-6256",
        "email": "lakita_marrero@gmail.com",
    },
    "preferences": {"key": "value"},
}

# The contract's result payload: what Workable must receive for a completed interview.
CONTRACT_RESULT = {
    "results_url": "https://acme.com/interviews/2044922",
    "status": "completed",
    "interview": {
        "score": "78",
        "grade": "excelled",
        "summary": "This candidate is an excellent prospect.",
        "details": {
            "behavior": {"Influence": 97, "conscientiousness": 76},
            "mental_skills": {"Problem Solving": 82, "Aptitude": 91},
        },
        "duration": "01:01:17",
    },
    "attachments": [
        {"description": "Interview Report", "url": "https://acme.com/interviews/2044922/report.pdf"}
    ],
}


def completed_status_event(interview_id, occurred_at="2026-11-28T20:00:00Z"):
    """The interviews.status example of docs/DESIGN.md with the contract's results (score a
    number)."""
    return {
        "interview_id": interview_id,
        "status": "completed",
        "occurred_at": occurred_at,
        "results_url": CONTRACT_RESULT["results_url"],
        "interview": dict(CONTRACT_RESULT["interview"], score=78),
        "attachments": CONTRACT_RESULT["attachments"],
        "shared_link": {"url": "https://acme.com/interviews/2044922/link", "ttl": 120,
                        "ttl_units": "minutes"},
    }


_PORTS_HANDED_OUT = set()

PATIENCE = float(os.environ.get("IB_TEST_PATIENCE") or 3)


def murmur2_partition(key, partitions):
    """The Java client's default partitioner (Kafka's Utils.murmur2, sign bit cleared, modulo
    partitions): the partition the gateway's producer writes key to."""
    data = key.encode() if isinstance(key, str) else bytes(key)
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if rest:
        h ^= rest[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def patience(seconds):
    """A wait's deadline as the test states it, stretched for slow machines (see above)."""
    return seconds * PATIENCE


def free_port():
    """A free loopback port below the kernel's ephemeral range (32768-60999 here), so an outgoing
    connection of another process cannot take it between this call and the service's bind.
    Random within 20000-32767, checked by binding, never handed out twice by this process."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32768)
        if port in _PORTS_HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free loopback port in 20000-32767")


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def await_true(fn, timeout, what, interval=0.1):
    """Poll fn() until it returns a truthy value or the deadline (patience(timeout)) passes
    (then AssertionError)."""
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)  # polling interval against a deadline, not a synchronisation sleep


# -- Kafka --------------------------------------------------------------------------------------


class KafkaBroker:
    """The test broker: reused when running (ctest fixture), else started and stopped by us."""

    def __init__(self, port=None, data_dir=None):
        """port/data_dir: a dedicated broker of one test (never the shared one, never external)."""
        self.external = None if port else os.environ.get("IB_TEST_KAFKA_BOOTSTRAP")
        self.port = int(port or os.environ.get("IB_TEST_KAFKA_PORT", "19092"))
        self.data_dir = data_dir or (None if port else os.environ.get("IB_TEST_KAFKA_DATA_DIR")) \
            or f"/tmp/ib-it-kafka-{self.port}"
        self.bootstrap = self.external or f"127.0.0.1:{self.port}"
        self.owned = False

    def _env(self):
        env = dict(os.environ)
        env["KAFKA_PORT"] = str(self.port)
        env["KAFKA_DATA_DIR"] = self.data_dir
        for k in list(env):  # the script creates the default topics; never inherit renames
            if k.startswith("TOPIC_"):
                del env[k]
        return env

    def _script(self, cmd, timeout=180):
        args = [cmd] if isinstance(cmd, str) else list(cmd)
        return subprocess.run([KAFKA_SCRIPT, *args], env=self._env(), capture_output=True,
                              text=True, timeout=timeout)

    def stop_keep_data(self):
        """Stop the broker (SIGTERM, a clean shutdown) and keep its data: restart_keep_data()
        brings the same cluster back. Only for a dedicated broker."""
        if self.external:
            raise unittest.SkipTest("external broker: cannot restart it")
        self.resume()
        r = self._script(["stop", "--keep-data"], 60)
        if r.returncode != 0:
            raise RuntimeError(f"scripts/kafka stop --keep-data failed:\n{r.stderr}")

    def restart_keep_data(self):
        r = self._script(["start", "--keep-data"])
        if r.returncode != 0:
            raise RuntimeError(f"scripts/kafka start --keep-data failed:\n{r.stdout}\n{r.stderr}")

    def alter_topic_config(self, topic, **configs):
        """Set topic configs (names with dots: pass {"max.message.bytes": ...} as **dict)."""
        r = subprocess.run([KAFKA_SCRIPT, "env"], env=self._env(), capture_output=True, text=True,
                           check=True)
        libs = dict(x.split("=", 1) for x in r.stdout.splitlines() if "=" in x)["KAFKA_LIBS"]
        r = subprocess.run(["java", "-cp", f"{libs}/*", "-Dlog4j.configuration=file:/dev/null",
                            "kafka.admin.ConfigCommand", "--bootstrap-server", self.bootstrap,
                            "--alter", "--entity-type", "topics", "--entity-name", topic,
                            "--add-config", ",".join(f"{k}={v}" for k, v in configs.items())],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"topic config of {topic} failed: {r.stderr[-1500:]}")

    def running(self):
        return self._script("status", 30).returncode == 0

    def ensure(self):
        if self.external:
            return self.bootstrap
        if self.running():
            return self.bootstrap
        r = self._script("start")
        if r.returncode != 0:
            raise RuntimeError(f"scripts/kafka start failed:\n{r.stdout}\n{r.stderr}")
        self.owned = True
        atexit.register(self.stop)
        return self.bootstrap

    def start(self):
        r = self._script("start")
        sys.stderr.write(r.stderr)
        return r.returncode

    def stop(self):
        self.resume()  # a stopped JVM would not exit on SIGTERM
        r = self._script("stop", 60)
        return r.returncode

    def pid(self):
        try:
            with open(os.path.join(self.data_dir, "kafka.pid"), encoding="ascii") as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def resume(self):
        pid = self.pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    @contextlib.contextmanager
    def paused(self):
        """SIGSTOP the broker JVM for the duration of the block; SIGCONT always follows."""
        pid = self.pid()
        if self.external or not pid:
            raise unittest.SkipTest("broker pid unknown (external broker): cannot pause it")
        atexit.register(self.resume)
        os.kill(pid, signal.SIGSTOP)
        try:
            # The stop is asynchronous: a thread running on another core finishes its time slice
            # (and may answer one more request). Frozen means every thread shows state T.
            await_true(lambda: all_threads_stopped(pid), patience(10), f"broker pid {pid} to stop",
                       interval=0.01)
            yield pid
        finally:
            os.kill(pid, signal.SIGCONT)

    def _admin_cmd(self):
        """java command running scripts/KafkaAdmin.java; compiled once with javac when available
        (a source launch compiles on every run: ~5 s more per call)."""
        r = subprocess.run([KAFKA_SCRIPT, "env"], env=self._env(), capture_output=True, text=True,
                           check=True)
        libs = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)["KAFKA_LIBS"]
        src = os.path.join(REPO_ROOT, "scripts", "KafkaAdmin.java")
        with open(src, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        classes = os.path.join(tempfile.gettempdir(), f"ib-it-kafka-admin-{digest}")
        base = ["java", "-Dlog4j.configuration=file:/dev/null"]
        if not os.path.exists(os.path.join(classes, "KafkaAdmin.class")):
            if subprocess.run(["javac", "-version"], capture_output=True).returncode != 0:
                return base + ["-cp", f"{libs}/*", src]
            tmp = tempfile.mkdtemp(prefix="ib-it-kafka-admin-")
            subprocess.run(["javac", "-nowarn", "-cp", f"{libs}/*", "-d", tmp, src], check=True,
                           capture_output=True)
            with contextlib.suppress(OSError):
                os.rename(tmp, classes)  # atomic; a concurrent winner is just as good
        return base + ["-cp", f"{classes}:{libs}/*", "KafkaAdmin"]

    def create_topics(self, specs):
        """specs: ["name:partitions:cleanup[:retention.ms]", ...], through the script's admin
        client."""
        r = subprocess.run(self._admin_cmd() + [self.bootstrap, "create"] + list(specs),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"topic creation failed: {r.stderr[-2000:]}")


_BROKER = None


def broker():
    global _BROKER
    if _BROKER is None:
        _BROKER = KafkaBroker()
        _BROKER.ensure()
    return _BROKER


def all_threads_stopped(pid):
    """True when every thread of pid is in state T (stopped), from /proc/<pid>/task/*/stat."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                    return False
        except (OSError, IndexError):
            continue  # a thread that exited
    return True


class Kcat:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap

    def produce(self, topic, key, value, partition=None, headers=None):
        """Produce one message (dict/list as JSON, or str) and wait for its delivery."""
        cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-k", key, "-c", "1",
               "-X", "message.timeout.ms=20000",
               # The Java client's partitioner, as the gateway and the platform use: keeps an
               # interview's requested and status events in the same partition number.
               "-X", "partitioner=murmur2_random"]
        if partition is not None:
            cmd += ["-p", str(partition)]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}={v}"]
        data = (value if isinstance(value, str) else json.dumps(value)).encode()
        if b"\n" in data or not data:
            raise ValueError("kcat sends one non-empty line per message: pass compact JSON")
        data += b"\n"
        r = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"kcat produce to {topic} failed: {r.stderr.decode()[-500:]}")

    def produce_many(self, topic, pairs, partition=None):
        """Produce many (key, value) messages with one kcat run and wait for their delivery.
        Values as in produce(); keys must not contain a tab or newline."""
        cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-K", "\t",
               "-X", "message.timeout.ms=60000", "-X", "partitioner=murmur2_random"]
        if partition is not None:
            cmd += ["-p", str(partition)]
        lines = []
        for key, value in pairs:
            data = value if isinstance(value, str) else json.dumps(value)
            if "\n" in data or "\t" in key or "\n" in key or not data:
                raise ValueError("one line per message: compact JSON, keys without tab/newline")
            lines.append(f"{key}\t{data}")
        r = subprocess.run(cmd, input=("\n".join(lines) + "\n").encode(), capture_output=True,
                           timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"kcat produce to {topic} failed: {r.stderr.decode()[-500:]}")

    def produce_bulk(self, topic, records, partition=None, headers=None,
                     partitioner="murmur2_random"):
        """Produce many (key, value) records in one kcat run (values: dict/list as JSON, or
        str without newlines), murmur2-partitioned like the gateway; waits for all deliveries.
        partitioner None: librdkafka's default (consistent_random, CRC32 of the key), as
        confluent-kafka and other librdkafka clients produce."""
        lines = []
        for key, value in records:
            data = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            if "\n" in data or "\t" in key or "\n" in key or not data:
                raise ValueError("one line per record; keys without tabs")
            lines.append(f"{key}\t{data}")
        cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-K", "\t",
               "-X", "message.timeout.ms=60000", "-X", "linger.ms=20"]
        if partitioner is not None:
            cmd += ["-X", f"partitioner={partitioner}"]
        if partition is not None:
            cmd += ["-p", str(partition)]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}={v}"]
        r = subprocess.run(cmd, input=("\n".join(lines) + "\n").encode(), capture_output=True,
                           timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"kcat produce to {topic} failed: {r.stderr.decode()[-500:]}")

    def produce_raw(self, topic, key, value, partition=None, config=None):
        """One message with any bytes: key None (null key) or str; value bytes/str, b"" (an
        empty value) or None (a null value). config: extra producer properties (dict)."""
        cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-c", "1",
               "-X", "message.timeout.ms=20000", "-X", "partitioner=murmur2_random"]
        for k, v in (config or {}).items():
            cmd += ["-X", f"{k}={v}"]
        if partition is not None:
            cmd += ["-p", str(partition)]
        if isinstance(value, str):
            value = value.encode()
        if not value:
            # kcat skips empty files and empty lines: "key<TAB>" is an empty value, -Z a null.
            if key is None or "\t" in key or "\n" in key:
                raise ValueError("an empty or null value needs a key without tab or newline")
            cmd += ["-K", "\t"] + (["-Z"] if value is None else [])
            r = subprocess.run(cmd, input=f"{key}\t\n".encode(), capture_output=True, timeout=60)
        else:
            if key is not None:
                cmd += ["-k", key]
            with tempfile.NamedTemporaryFile(prefix="ib-it-msg-") as f:
                f.write(value)
                f.flush()
                r = subprocess.run(cmd + [f.name], capture_output=True, timeout=60)
        if r.returncode != 0 or b"Delivery failed" in r.stderr:
            raise RuntimeError(f"kcat produce to {topic} failed: {r.stderr.decode()[-500:]}")

    def consume_all(self, topic):
        """Every message of the topic from the beginning: list of dicts with key, value (parsed
        JSON or text or None), raw, headers (dict), partition, offset."""
        r = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-J", "-e", "-q",
                            "-o", "beginning", "-Z"], capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"kcat consume {topic} failed: {r.stderr.decode()[-500:]}")
        out = []
        # split("\n"), not splitlines(): kcat's JSON lines may carry U+2028 and friends raw.
        for line in r.stdout.decode().split("\n"):
            if not line.strip():
                continue
            m = json.loads(line)
            h = m.get("headers") or []
            headers = {h[i]: h[i + 1] for i in range(0, len(h) - 1, 2)}
            raw = m.get("payload")
            try:
                value = json.loads(raw) if raw is not None else None
            except ValueError:
                value = raw
            out.append({"key": m.get("key"), "value": value, "raw": raw, "headers": headers,
                        "header_list": h, "partition": m["partition"], "offset": m["offset"]})
        return out

    def await_messages(self, topic, pred, timeout=20, count=1, what=None):
        def check():
            got = [m for m in self.consume_all(topic) if pred(m)]
            return got if len(got) >= count else None
        return await_true(check, timeout, what or f"{count} matching message(s) on {topic}",
                          interval=0.3)


# -- HTTP ---------------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get)
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {dict(self.headers.items())} {self.body[:300]!r}>"


def http_request(base, method, path, body=None, headers=None, timeout=30):
    """One request on a fresh connection. body: dict/list (sent as JSON), bytes or str."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    try:
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a server may answer (413) and close before reading the whole body
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


class Sim:
    """The callback simulator as a child process on a free loopback port."""

    def __init__(self, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--listen", f"127.0.0.1:{self.port}", "--record",
             log_path + ".jsonl"], stdout=self.log, stderr=subprocess.STDOUT)
        await_true(self._up, 15, "callback sim to listen")

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError("callback sim exited")
        try:
            return http_request(self.base, "GET", "/_sim/healthz", timeout=2).status == 200
        except OSError:
            return False

    def url(self, path):
        return self.base + path

    def script(self, path, responses=(), then=None):
        spec = {"path": path, "responses": list(responses)}
        if then is not None:
            spec["then"] = then
        r = http_request(self.base, "POST", "/_sim/script", spec)
        assert r.status == 200, r

    def requests(self, path=None):
        q = "?" + urllib.parse.urlencode({"path": path}) if path else ""
        return http_request(self.base, "GET", "/_sim/requests" + q).json()

    def wait(self, count, timeout=30, path=None):
        """Requests recorded (for path), once at least count exist; AssertionError after
        patience(timeout)."""
        timeout = patience(timeout)
        q = {"count": count, "timeout": timeout}
        if path:
            q["path"] = path
        r = http_request(self.base, "GET", "/_sim/wait?" + urllib.parse.urlencode(q),
                         timeout=timeout + 10)
        got = r.json()
        if r.status != 200:
            raise AssertionError(f"callback sim: {len(got)} request(s) for {path or 'any path'} "
                                 f"after {timeout}s, wanted {count}: {got}")
        return got

    def reset(self):
        http_request(self.base, "POST", "/_sim/reset")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- services -----------------------------------------------------------------------------------


class Service:
    """A service binary as a child process, its stdout+stderr in a log file."""

    def __init__(self, name, binary, env, listen_port, log_path):
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest(f"{name} binary not found ({binary!r}); set IB_*_BIN")
        self.name = name
        self.base = f"http://127.0.0.1:{listen_port}"
        # The gateway's operations listener (GATEWAY_OPS_LISTEN: /healthz, /readyz, /metrics);
        # set by whoever starts one.
        self.ops_base = None
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([binary], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _LIVE.add(self)

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=60):
        def ready():
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.proc.returncode} before "
                                     f"ready:\n{self.log_tail()}")
            try:
                return http_request(self.base, "GET", "/readyz", timeout=3).status == 200
            except OSError:
                return False
        await_true(ready, timeout, f"{self.name} /readyz", interval=0.2)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal and wait; returns the exit code (kills after timeout and raises)."""
        _LIVE.discard(self)
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.log.close()
                raise AssertionError(f"{self.name} did not exit within {timeout}s of {sig!r}")
        self.log.close()
        return self.proc.returncode

    def log_tail(self, lines=40):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")


_LIVE = set()


@atexit.register
def _kill_leftovers():
    for svc in list(_LIVE):
        with contextlib.suppress(Exception):
            svc.stop(signal.SIGKILL, 5)


# -- the stack: one per test class --------------------------------------------------------------


class Stack:
    """Broker (shared), per-class topics, tenants file, callback sim, gateway, worker."""

    def __init__(self, name, with_worker=True, gateway_env=None, worker_env=None,
                 with_gateway=True, callback_hosts=None, kafka=None, callback_ports=None,
                 tenant_b_extra=None):
        """callback_ports: the tenants' "callback_ports" (the word "sim" stands for the callback
        simulator's port), for callback URLs on a host name, where only 443 passes without it.
        tenant_b_extra: more keys of tenant_b's entry in the tenants file."""
        self.name = name
        self.run_id = secrets.token_hex(4)
        self.dir = os.environ.get("IB_TEST_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="ib-it-")
        self.dir = os.path.join(self.dir, f"{name}-{self.run_id}")
        os.makedirs(self.dir, exist_ok=True)
        self.broker = kafka or broker()  # kafka: a test's dedicated KafkaBroker (started)
        self.kcat = Kcat(self.broker.bootstrap)
        if os.environ.get("IB_TEST_DEFAULT_TOPICS") == "1":
            self.topics = dict(DEFAULT_TOPICS)
        else:
            self.topics = {k: f"it-{self.run_id}.{v}" for k, v in DEFAULT_TOPICS.items()}
            t = self.topics
            # The policies of scripts/kafka (docs/DESIGN.md): our topics carrying an interview's
            # data are compact,delete, so that a tombstone erases it; the platform's status topic
            # takes records without a key, and its mirror is scanned whole for the order: delete,
            # 7 days; the changelog of every interview's latest state: compact only.
            days_7 = 7 * 86400000
            self.broker.create_topics([f"{t['requested']}:6:compact,delete",
                                       f"{t['status']}:6:delete:{days_7}",
                                       f"{t['catalog']}:3:compact",
                                       f"{t['retry']}:6:compact,delete",
                                       f"{t['dlq']}:3:compact,delete",
                                       f"{t['repartition']}:6:delete:{days_7}",
                                       f"{t['state']}:6:compact"])
        # Two tenants; ids unique per run so compacted catalogs of other runs never interfere.
        self.tenant_a = {"id": f"groove-tech-{self.run_id}", "token": "a-" + secrets.token_hex(16),
                         "workable_token": "wa-" + secrets.token_hex(16)}
        self.tenant_b = {"id": f"acme-{self.run_id}", "token": "b-" + secrets.token_hex(16),
                         "workable_token": "wb-" + secrets.token_hex(16)}
        self.sim = Sim(os.path.join(self.dir, "callback-sim.log"))
        self.tenants_file = os.path.join(self.dir, "tenants.json")
        tenants = [{"id": t["id"], "api_token_sha256": [sha256_hex(t["token"])],
                    "workable_token": t["workable_token"],
                    "callback_hosts": list(callback_hosts or ["127.0.0.1", "localhost"]),
                    **((tenant_b_extra or {}) if t is self.tenant_b else {})}
                   for t in (self.tenant_a, self.tenant_b)]
        if callback_ports is not None:
            ports = [self.sim.port if p == "sim" else p for p in callback_ports]
            for t in tenants:
                t["callback_ports"] = ports
        with open(self.tenants_file, "w", encoding="utf-8") as f:
            json.dump({"tenants": tenants}, f, indent=2)
        self.gateway_port = free_port()
        self.gateway_ops_port = free_port()
        self.worker_port = free_port()
        self.worker_group = f"it-{self.run_id}-worker"
        self.gateway_env = dict(gateway_env or {})
        self.worker_env = dict(worker_env or {})
        self.gateway = None
        self.worker = None
        self._n = 0
        try:
            if with_gateway:
                self.start_gateway()
            if with_worker:
                self.start_worker()
        except BaseException:
            self.close()
            raise

    # environment shared by both services
    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOPIC_", "KAFKA_"))}
        env.update({
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "TENANTS_FILE": self.tenants_file,
            "ALLOW_INSECURE_CALLBACKS": "1",
            "LOG_LEVEL": os.environ.get("IB_TEST_LOG_LEVEL", "info"),
            "TOPIC_REQUESTED": self.topics["requested"],
            "TOPIC_STATUS": self.topics["status"],
            "TOPIC_CATALOG": self.topics["catalog"],
            "TOPIC_RETRY": self.topics["retry"],
            "TOPIC_DLQ": self.topics["dlq"],
            "TOPIC_STATUS_REPARTITION": self.topics["repartition"],
            "TOPIC_STATE": self.topics["state"],
        })
        return env

    def start_gateway(self):
        env = self._env()
        env.update({"GATEWAY_LISTEN": f"127.0.0.1:{self.gateway_port}",
                    "GATEWAY_OPS_LISTEN": f"127.0.0.1:{self.gateway_ops_port}",
                    "INTERVIEW_ID_SECRET": "it-secret-" + self.run_id})
        env.update(self.gateway_env)
        self.gateway = Service("api-gateway", os.environ.get("IB_GATEWAY_BIN"), env,
                               self.gateway_port, os.path.join(self.dir, "api-gateway.log"))
        self.gateway.ops_base = f"http://{env['GATEWAY_OPS_LISTEN']}"
        self.gateway.wait_ready()
        return self.gateway

    def start_worker(self):
        env = self._env()
        env.update({"WORKER_LISTEN": f"127.0.0.1:{self.worker_port}",
                    "WORKER_GROUP_ID": self.worker_group,
                    "RETRY_SCHEDULE": "0s,1s", "CALLBACK_TIMEOUT": "5s"})
        env.update(self.worker_env)
        self.worker = Service("results-worker", os.environ.get("IB_WORKER_BIN"), env,
                              self.worker_port, os.path.join(self.dir, "results-worker.log"))
        self.worker.wait_ready()
        return self.worker

    def spawn_gateway(self, env=None, wait=True, name="api-gateway-extra"):
        """Another gateway replica (same tenants, topics and secret) on a fresh port; the caller
        stops it (Service.stop). wait: until its /readyz answers 200."""
        port = free_port()
        e = self._env()
        e.update({"GATEWAY_LISTEN": f"127.0.0.1:{port}",
                  "GATEWAY_OPS_LISTEN": f"127.0.0.1:{free_port()}",
                  "INTERVIEW_ID_SECRET": "it-secret-" + self.run_id})
        e.update(self.gateway_env)
        e.update(env or {})
        svc = Service(name, os.environ.get("IB_GATEWAY_BIN"), e, port,
                      os.path.join(self.dir, f"{name}-{port}.log"))
        svc.ops_base = f"http://{e['GATEWAY_OPS_LISTEN']}"
        if wait:
            svc.wait_ready()
        return svc

    def gw_at(self, svc, method, path, body=None, token=None, headers=None, timeout=30):
        """Like gw() against another gateway replica."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        return http_request(svc.base, method, path, body, hdrs, timeout)

    def close(self):
        for svc in (self.worker, self.gateway):
            if svc is not None:
                with contextlib.suppress(Exception):
                    svc.stop(signal.SIGTERM, 20)
        with contextlib.suppress(Exception):
            self.sim.stop()

    def diagnostics(self):
        parts = [f"artifacts: {self.dir}"]
        for svc in (self.gateway, self.worker):
            if svc is not None:
                parts.append(f"--- {svc.name} log (tail) ---\n{svc.log_tail(60)}")
        return "\n".join(parts)

    # -- helpers for tests --

    def unique(self, prefix="i"):
        self._n += 1
        return f"{prefix}{self.run_id}{self._n}"

    def gw_ops(self, method, path, svc=None, timeout=30):
        """A request to the operations listener of the gateway (or of replica svc)."""
        return http_request((svc or self.gateway).ops_base, method, path, None, {}, timeout)

    def gw(self, method, path, body=None, token=None, headers=None, timeout=30):
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        return http_request(self.gateway.base, method, path, body, hdrs, timeout)

    def interview_body(self, callback_path=None, **overrides):
        body = json.loads(json.dumps(CONTRACT_POST_BODY))
        body["callback_url"] = self.sim.url(callback_path or f"/interviews/{self.unique('cb')}")
        body.update(overrides)
        return body

    def publish_catalog(self, tenant, catalog):
        self.kcat.produce(self.topics["catalog"], tenant["id"], catalog)

    def await_templates(self, tenant, catalog, timeout=20):
        want = {"interview_templates": catalog["interview_templates"]}
        last = {}

        def check():
            r = self.gw("GET", "/interview-templates", token=tenant["token"])
            last["r"] = r
            return r.status == 200 and r.json() == want
        try:
            await_true(check, timeout, "GET /interview-templates to serve the published catalog",
                       interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; wanted 200 {want}, last got {last.get('r')!r}") from None

    def requested_events(self, key=None):
        return [m for m in self.kcat.consume_all(self.topics["requested"])
                if key is None or m["key"] == key]

    def create_interview(self, tenant=None, callback_path=None, partition=None, tries=60):
        """POST /interviews (201 required); returns (interview_id, callback_path, partition of
        its interviews.requested event). With partition, posts fresh interviews until one's
        event lands there, so a status event can be co-partitioned with it and ordered after
        another one."""
        tenant = tenant or self.tenant_a
        for _ in range(tries):
            path = callback_path or f"/interviews/{self.unique('cb')}"
            r = self.gw("POST", "/interviews", self.interview_body(path), token=tenant["token"])
            if r.status != 201:
                raise AssertionError(f"POST /interviews: wanted 201, got {r!r}")
            iid = r.json()["interview_id"]
            ev = self.kcat.await_messages(self.topics["requested"], lambda m: m["key"] == iid,
                                          what=f"interviews.requested event of {iid}")[0]
            if partition is None or ev["partition"] == partition:
                return iid, path, ev["partition"]
            callback_path = None
        raise AssertionError(f"no interview landed on partition {partition} in {tries} tries")

    def publish_status(self, event, partition=None):
        self.kcat.produce(self.topics["status"], event["interview_id"], event, partition)

    def publish_state(self, event, tenant, callback_url):
        """An interviews.state record shaped as the results-worker writes it (docs/DESIGN.md
        "Lifecycle and the changelog"): the status event with `tenant` (tenant's id) and
        `callback_url` set, CloudEvents headers, key = interview_id, murmur2-partitioned."""
        iid = event["interview_id"]
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
        headers = {"ce_specversion": "1.0", "ce_id": f"{iid}-{self.unique('state')}",
                   "ce_source": "/interview-bridge/results-worker", "ce_type": "interview.state",
                   "ce_time": now[:-3] + "Z", "content-type": "application/json"}
        value = dict(event, tenant=tenant["id"], callback_url=callback_url)
        self.kcat.produce(self.topics["state"], iid, value, headers=headers)


class StackTestCase(unittest.TestCase):
    """Base class: one stack per test class; service log tails printed when a test fails."""

    stack = None
    with_worker = True
    with_gateway = True
    gateway_env = None
    worker_env = None
    callback_hosts = None
    callback_ports = None  # see Stack
    kafka_broker = None  # a dedicated, started KafkaBroker instead of the shared one
    tenant_b_extra = None  # more keys of tenant_b's entry in the tenants file

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(cls.__name__, cls.with_worker, cls.gateway_env, cls.worker_env,
                          cls.with_gateway, cls.callback_hosts, kafka=cls.kafka_broker,
                          callback_ports=cls.callback_ports, tenant_b_extra=cls.tenant_b_extra)

    @classmethod
    def tearDownClass(cls):
        if cls.stack is not None:
            cls.stack.close()

    def _failed(self):
        result = getattr(self._outcome, "result", None)
        if result is None:
            return False
        return any(t is self for t, _ in result.failures + result.errors)

    def tearDown(self):
        if self._failed() and self.stack is not None:
            sys.stderr.write("\n" + self.stack.diagnostics() + "\n")

    # assertions shared by the test modules
    def assertError(self, resp, status, message=None):
        """A contract error: exact status, JSON body {"status": N, "message": "..."}."""
        self.assertEqual(resp.status, status, resp)
        ctype = resp.headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith("application/json"), f"Content-Type {ctype!r}: {resp!r}")
        body = resp.json()
        self.assertEqual(set(body), {"status", "message"}, resp)
        self.assertEqual(body["status"], status, resp)
        self.assertIsInstance(body["message"], str, resp)
        self.assertTrue(body["message"], resp)
        if message is not None:
            self.assertEqual(body["message"], message, resp)
        return body


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    b = KafkaBroker()
    if cmd == "kafka-start":
        if b.external:
            return 0
        return b.start()
    if cmd == "kafka-stop":
        if b.external:
            return 0
        return b.stop()
    sys.stderr.write("usage: harness.py kafka-start|kafka-stop\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
