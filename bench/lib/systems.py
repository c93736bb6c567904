"""The systems under test and their peers: our api-gateway and results-worker, the Benthos peer,
nginx (the HTTP ceiling) and the callback sink. Bench is the one object a measuring run passes
around: its configuration, ports, binaries, work directory, log and processes."""

import hashlib
import json
import os
import subprocess
import time

from . import config
from .loadgen import Ibload, post_body
from .procs import ProcSet, cpu_seconds, http, port_open, wait_port_free, wait_until

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/


class Bench:
    """One measuring run's environment. Everything it starts goes through procs, so that one
    stop_all() on any exit leaves no process and no port behind."""

    def __init__(self, cfg, ports, work, bins, kafka_pid, kafka_libs, kafka_data, log, log_level):
        self.cfg, self.ports, self.work, self.bins = cfg, ports, work, bins
        self.kafka_pid, self.kafka_libs, self.kafka_data = kafka_pid, kafka_libs, kafka_data
        self.log, self.log_level = log, log_level
        self.procs = ProcSet(work)
        self.brokers = f"127.0.0.1:{ports.kafka}"
        self.sink_url = f"http://127.0.0.1:{ports.sink}"
        self.token_sha = hashlib.sha256(config.TOKEN.encode()).hexdigest()
        self.ibload = Ibload(bins["ibload"], self.brokers, self.sink_url)
        self.tenants = os.path.join(work, "tenants.json")
        with open(self.tenants, "w") as f:
            json.dump({"tenants": [{"id": config.TENANT, "api_token_sha256": [self.token_sha],
                                    "workable_token": config.WORKABLE_TOKEN,
                                    "callback_hosts": ["127.0.0.1", "localhost"]}]}, f)
        self.nginx_conf = os.path.join(work, "nginx.conf")
        with open(self.nginx_conf, "w") as f:
            f.write(nginx_conf(work, ports.nginx))
        # The https sink: nginx terminating TLS (a certificate of a CA made here) in front of it.
        self.sink_tls_url = f"https://127.0.0.1:{ports.sink_tls}"
        self.ibload_tls = Ibload(bins["ibload"], self.brokers, self.sink_tls_url)
        self.ca_file, self.ca_bundle, cert, key = make_tls(work)
        self.nginx_tls_conf = os.path.join(work, "nginx-tls.conf")
        with open(self.nginx_tls_conf, "w") as f:
            f.write(nginx_tls_conf(work, ports.sink_tls, ports.sink, cert, key))

    def say(self, msg):
        self.log.say(msg)

    def path(self, name):
        return os.path.join(self.work, name)

    def wrk_env(self):
        return {"BENCH_TOKEN": config.TOKEN, "BENCH_SINK": self.sink_url}

    def lua(self, name):
        return os.path.join(HERE, "lua", name)

    def post_body(self, tag):
        return post_body(self.sink_url, tag)


def nginx_conf(work, port):
    cat = json.dumps({"interview_templates": config.CATALOG["interview_templates"]})
    return f"""daemon off; master_process off; worker_processes 1;
pid {work}/nginx.pid; error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  client_body_temp_path {work}/ncb; proxy_temp_path {work}/np; fastcgi_temp_path {work}/nf;
  uwsgi_temp_path {work}/nu; scgi_temp_path {work}/ns;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location = /interviews {{ default_type application/json;
      return 201 '{{"interview_id":"bf70ebf5e53a84535e24833b74e344aa"}}'; }}
    location = /interview-templates {{ default_type application/json; return 200 '{cat}'; }}
  }}
}}
"""


def make_tls(work):
    """A CA and a certificate for 127.0.0.1 (openssl CLI); returns (CA file, system bundle + CA
    for Go's SSL_CERT_FILE, certificate, key)."""
    d = os.path.join(work, "tls")
    os.makedirs(d, exist_ok=True)
    ca, ca_key, cert, key, csr, ext = (os.path.join(d, n) for n in
                                        ("ca.pem", "ca.key", "sink.pem", "sink.key", "sink.csr", "sink.ext"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
                    "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                    "-days", "2", "-out", cert, "-extfile", ext], check=True, capture_output=True)
    bundle = os.path.join(d, "bundle.pem")
    with open(bundle, "w") as out:
        for src in ("/etc/ssl/certs/ca-certificates.crt", ca):
            with open(src) as f:
                out.write(f.read().rstrip("\n") + "\n")
    return ca, bundle, cert, key


def nginx_tls_conf(work, port, sink_port, cert, key):
    """nginx as the https sink: TLS (1.2/1.3, HTTP/1.1, session cache) proxied to the sink over
    kept-alive connections."""
    return f"""daemon off; master_process off; worker_processes 1;
pid {work}/nginx-tls.pid; error_log {work}/nginx-tls-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  client_body_temp_path {work}/ncb; proxy_temp_path {work}/np; fastcgi_temp_path {work}/nf;
  uwsgi_temp_path {work}/nu; scgi_temp_path {work}/ns;
  upstream sink {{ server 127.0.0.1:{sink_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} ssl reuseport backlog=4096;
    ssl_certificate {cert}; ssl_certificate_key {key};
    ssl_session_cache shared:ibtls:1m;
    location / {{ proxy_pass http://sink; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_request_buffering off; }}
  }}
}}
"""


def start_tls_sink(b):
    """The https sink (nginx on the load CPU, in front of the sink); the caller stops it."""
    wait_port_free(b.ports.sink_tls)
    p = b.procs.start("nginx-tls", ["nginx", "-p", b.work, "-c", b.nginx_tls_conf], config.CPU_LOAD)
    wait_until(lambda: port_open(b.ports.sink_tls), 30, "https sink", p)
    return p


def service_env(b, extra):
    # librdkafka settings given to bench/run as KAFKA_* reach our services as in production
    # (e.g. KAFKA_QUEUED_MIN_MESSAGES); the broker's address is always the run's own.
    env = {k: v for k, v in os.environ.items() if k.startswith("KAFKA_")}
    env.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": b.work, "LANG": "C.UTF-8",
                "KAFKA_BOOTSTRAP_SERVERS": b.brokers, "TENANTS_FILE": b.tenants,
                "ALLOW_INSECURE_CALLBACKS": "1", "LOG_LEVEL": b.log_level})
    env.update(extra)
    return env


def benthos_env(b, extra):
    env = dict(os.environ, BENCH_BROKERS=b.brokers, BENCH_TOKEN_SHA256=b.token_sha,
               BENCH_ID_SECRET=config.SECRET, BENCH_WORKABLE_TOKEN=config.WORKABLE_TOKEN)
    env.update(extra)
    return env


def start_sink(b):
    wait_port_free(b.ports.sink)
    p = b.procs.start("sink", [b.bins["sink"], f"127.0.0.1:{b.ports.sink}"], config.CPU_LOAD)
    wait_until(lambda: port_open(b.ports.sink), 30, "sink", p)
    return p


def sink_stats(b):
    return json.loads(http("GET", f"{b.sink_url}/_stats")[1])


def sink_reset(b):
    http("GET", f"{b.sink_url}/_reset")


def first_post_ok(b, base):
    st, _ = http("POST", f"{base}/interviews", b.post_body("probe")(0).encode(),
                 {"Authorization": f"Bearer {config.TOKEN}", "Content-Type": "application/json"}, 15)
    return st == 201


def start_gateway(b, kind, extra=None):
    """kind: ours | benthos | nginx; returns (proc, base URL) once it answers."""
    port = {"ours": b.ports.gateway, "benthos": b.ports.benthos, "nginx": b.ports.nginx}[kind]
    wait_port_free(port)
    base = f"http://127.0.0.1:{port}"
    if kind == "ours":
        env = service_env(b, dict({"GATEWAY_LISTEN": f"127.0.0.1:{port}",
                                   "GATEWAY_OPS_LISTEN": f"127.0.0.1:{b.ports.gateway_ops}",
                                   "INTERVIEW_ID_SECRET": config.SECRET,
                                   # one load generator, one tenant: the fairness limits would
                                   # measure themselves
                                   "GATEWAY_MAX_CONNECTIONS_PER_IP": "100000",
                                   "GATEWAY_CREATE_RATE": "0"}, **(extra or {})))
        p = b.procs.start("api-gateway", [b.bins["gateway"]], config.CPU_SUT, env)
    elif kind == "benthos":
        p = b.procs.start("benthos-gateway", [b.bins["benthos"], "-c", os.path.join(HERE, "peers", "gateway.yaml")],
                          config.CPU_SUT, benthos_env(b, {"BENCH_PEER_LISTEN": f"127.0.0.1:{port}"}))
    elif kind == "nginx":
        p = b.procs.start("nginx", ["nginx", "-p", b.work, "-c", b.nginx_conf], config.CPU_SUT)
    else:
        raise ValueError(kind)
    try:
        if kind == "ours":
            wait_until(lambda: http("GET", f"{base}/readyz")[0] == 200, 600, "api-gateway /readyz", p)
            wait_until(lambda: http("GET", f"{base}/interview-templates",
                                    headers={"Authorization": f"Bearer {config.TOKEN}"})[0] == 200, 60,
                       "api-gateway catalog view", p)
        else:
            wait_until(lambda: port_open(port), 60, f"{p.name} listening", p)
    except Exception:
        b.procs.stop(p)  # never leave it holding the port for the next step
        raise
    return p, base


def gateway_view(b):
    """(interviews, bytes) of our gateway's interviews view, from its /metrics (on the operations
    listener): what the RSS figures include besides connections (the view holds every interview
    posted so far)."""
    st, body = http("GET", f"http://127.0.0.1:{b.ports.gateway_ops}/metrics")
    vals = {}
    for line in body.decode().splitlines() if st == 200 else ():
        name, _, v = line.partition(" ")
        if name in ("ib_gateway_view_interviews", "ib_gateway_view_interviews_bytes"):
            vals[name] = float(v)
    return vals.get("ib_gateway_view_interviews"), vals.get("ib_gateway_view_interviews_bytes")


def start_worker(b, kind, t, tag, tls=False):
    """kind: ours | benthos, on the topics t (Ibload.topics) and a group of its own. tls: the
    callbacks go to the https sink; ours verifies its certificate (the bench CA added by
    CALLBACK_CA_FILE; ALLOW_INSECURE_CALLBACKS=1 stays, only because the callback URL policy
    refuses loopback hosts otherwise, and it does not touch TLS verification), Benthos trusts the
    CA through Go's SSL_CERT_FILE."""
    if kind == "ours":
        wait_port_free(b.ports.worker)
        extra = {"WORKER_LISTEN": f"127.0.0.1:{b.ports.worker}", "WORKER_GROUP_ID": f"bench-{tag}",
                 "TOPIC_REQUESTED": t["requested"], "TOPIC_STATUS": t["status"],
                 "TOPIC_RETRY": t["retry"], "TOPIC_DLQ": t["dlq"], "TOPIC_CATALOG": t["catalog"],
                 "TOPIC_STATUS_REPARTITION": t["repartition"], "TOPIC_STATE": t["state"]}
        if tls:
            extra["CALLBACK_CA_FILE"] = b.ca_file
        return b.procs.start("results-worker", [b.bins["worker"]], config.CPU_SUT, service_env(b, extra))
    extra = {"BENCH_TOPIC_REQUESTED": t["requested"], "BENCH_TOPIC_STATUS": t["status"],
             "BENCH_PEER_GROUP": f"bench-{tag}"}
    if tls:
        extra["SSL_CERT_FILE"] = b.ca_bundle
    env = benthos_env(b, extra)
    return b.procs.start("benthos-worker", [b.bins["benthos"], "-c", os.path.join(HERE, "peers", "worker.yaml")],
                         config.CPU_SUT, env)


def await_sink(b, count, timeout, proc):
    """Polls the sink until it counted `count`; returns ((t0, cpu0, n0, t1, cpu1, n1), stats): the
    first poll that saw a delivery and the final one (CPU of proc at both)."""
    first = None
    deadline = time.monotonic() + timeout
    while True:
        s = sink_stats(b)
        now = time.monotonic()
        cpu = cpu_seconds(proc.pid)
        if first is None and s["count"] > 0:
            first = (now, cpu, s["count"])
        if s["count"] >= count:
            return first + (now, cpu, s["count"]), s
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        if now > deadline:
            raise RuntimeError(f"{proc.name}: sink counted {s['count']} of {count} in {timeout}s")
        time.sleep(0.05)
