"""Test hosts that look like the outside, for the production-mode callback tests
(test_worker_tls.py).

- TestCA: a certificate authority made at fixture time with the openssl CLI, and the leaf
  certificates the tests need (valid, expired, for another name, from an untrusted CA).
- Netns: a network namespace joined to this one by a veth pair, with its own /30 address, no
  default route and no NAT (asserted before anything starts), deleted afterwards.
- Receiver: the callback receiver running inside the namespace (this module run as a script):
  HTTPS listeners with a chosen certificate and ALPN list, HTTP/1.1 keep-alive, HTTP/2 when a
  client negotiates h2 and the h2 package is present. It appends one JSON line per event to a
  log the test reads: "listening", "accept" (a TCP connection), "handshake" (reused: TLS session
  resumption, alpn: the negotiated protocol), "tls_error", "request" (method, path, headers,
  body).
- worker_wrapper(): the results-worker started in a private mount namespace where /etc/hosts
  (bind-mounted over, for that process only) maps the test host name to the namespace address;
  the worker resolves it with getaddrinfo as in production and nothing on the machine changes.

Everything here needs root (ip netns, unshare --mount); requires_root() says why it skips."""

import argparse
import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    HAVE_H2 = True
except ImportError:  # python3-h2 (scripts/install-deps)
    HAVE_H2 = False


def root_missing():
    """Why the namespace fixture cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns, veth, unshare --mount); run the integration tests as root"
    for tool in ("ip", "unshare", "mount", "openssl"):
        if shutil.which(tool) is None:
            return f"needs the {tool} command"
    # root without CAP_SYS_ADMIN / CAP_NET_ADMIN (an unprivileged container) cannot either
    r = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        return ("needs CAP_SYS_ADMIN and CAP_NET_ADMIN (new network and mount namespaces): "
                f"{r.stderr.strip()[:200]}")
    return None


def _run(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=60)


# -- certificates -------------------------------------------------------------------------------


class TestCA:
    """A CA (and a second, untrusted one) under dir; leaf() issues certificates."""

    def __init__(self, dir):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.ca = self._self_signed("ca", "interview-bridge test CA")
        self.rogue = self._self_signed("rogue-ca", "untrusted test CA")

    def _path(self, name, ext):
        return os.path.join(self.dir, f"{name}.{ext}")

    def _self_signed(self, name, cn):
        key, pem = self._path(name, "key"), self._path(name, "pem")
        _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", f"/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return (pem, key)

    def leaf(self, name, dns, issuer=None, expired=False):
        """A server certificate for DNS name dns, signed by issuer (default: the CA). expired:
        valid 2020-01-01..2020-01-02. Returns (cert, key) paths."""
        ca_pem, ca_key = issuer or self.ca
        key, csr, pem = self._path(name, "key"), self._path(name, "csr"), self._path(name, "pem")
        ext = self._path(name, "ext")
        with open(ext, "w", encoding="ascii") as f:
            f.write(f"subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\n"
                    "basicConstraints=CA:FALSE\n")
        _run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={dns}")
        if expired:
            # openssl ca takes explicit dates; it wants a minimal database.
            db = self._path(name, "db")
            open(db, "w").close()
            conf = self._path(name, "cnf")
            with open(conf, "w", encoding="ascii") as f:
                f.write(f"[ca]\ndefault_ca=t\n[t]\ndatabase={db}\nnew_certs_dir={self.dir}\n"
                        f"serial={self._path(name, 'serial')}\ndefault_md=sha256\n"
                        "policy=p\nunique_subject=no\n[p]\ncommonName=supplied\n")
            with open(self._path(name, "serial"), "w", encoding="ascii") as f:
                f.write("%016x\n" % random.getrandbits(63))
            _run("openssl", "ca", "-batch", "-config", conf, "-cert", ca_pem, "-keyfile", ca_key,
                 "-in", csr, "-out", pem, "-startdate", "20200101000000Z",
                 "-enddate", "20200102000000Z", "-extfile", ext, "-notext")
        else:
            _run("openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
                 "-CAcreateserial", "-days", "2", "-out", pem, "-extfile", ext)
        return (pem, key)


# -- the namespace ------------------------------------------------------------------------------


def _taken_v4():
    out = _run("ip", "-4", "-o", "addr", "show").stdout + _run("ip", "-4", "route").stdout
    nets = []
    for tok in out.split():
        with contextlib.suppress(ValueError):
            if "/" in tok or tok.count(".") == 3:
                nets.append(ipaddress.ip_network(tok, strict=False))
    return nets


class Netns:
    """ns: the namespace's name; addr: its address (peer: ours); subnet: the /30."""

    def __init__(self):
        tag = "%05d" % (os.getpid() % 100000)
        self.ns = f"ibtls{tag}"
        self.veth_host, self.veth_ns = f"ibt{tag}h", f"ibt{tag}n"
        taken = _taken_v4()
        for _ in range(100):
            net = ipaddress.ip_network(f"10.{random.randrange(200, 250)}."
                                       f"{random.randrange(0, 256)}."
                                       f"{4 * random.randrange(0, 64)}/30")
            if not any(net.overlaps(t) for t in taken):
                break
        else:
            raise RuntimeError("no free 10.200-249.x.x/30 for the test namespace")
        self.subnet = net
        self.peer, self.addr = (str(a) for a in list(net.hosts())[:2])
        self.up = False
        try:
            self._create()
            self.assert_isolated()
        except BaseException:
            self.delete()
            raise

    def _create(self):
        _run("ip", "netns", "add", self.ns)
        self.up = True
        _run("ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns)
        _run("ip", "link", "set", self.veth_ns, "netns", self.ns)
        _run("ip", "addr", "add", f"{self.peer}/30", "dev", self.veth_host)
        _run("ip", "link", "set", self.veth_host, "up")
        self.exec("ip", "addr", "add", f"{self.addr}/30", "dev", self.veth_ns)
        self.exec("ip", "link", "set", self.veth_ns, "up")
        self.exec("ip", "link", "set", "lo", "up")

    def exec(self, *cmd, check=True):
        return _run("ip", "netns", "exec", self.ns, *cmd, check=check)

    def assert_isolated(self):
        """No default route (IPv4 or IPv6) in the namespace, only the /30's link route, no
        route to anything else, and no NAT rule that could carry its traffic out."""
        routes = [r.split() for r in self.exec("ip", "-4", "route", "show").stdout.splitlines()
                  if r.strip()]
        want = f"{self.subnet} dev {self.veth_ns} proto kernel scope link src {self.addr}"
        if routes != [want.split()]:
            raise AssertionError(f"namespace routes are not just the /30: {routes}")
        for fam in ("-4", "-6"):
            d = self.exec("ip", fam, "route", "show", "default").stdout.strip()
            if d:
                raise AssertionError(f"namespace has a default route: {d}")
        # Nothing outside the /30 is routable from inside (asked of the routing table; no packet
        # is sent).
        for probe in ("1.1.1.1", str(self.subnet.network_address + 4)):
            r = self.exec("ip", "route", "get", probe, check=False)
            if r.returncode == 0:
                raise AssertionError(f"namespace can route to {probe}: {r.stdout.strip()}")
        # No NAT inside the namespace, and no rule outside naming its subnet. (Rules of other
        # networks on this machine cannot apply: the namespace routes nothing to them.)
        if shutil.which("iptables"):
            r = self.exec("iptables", "-t", "nat", "-S", check=False)
            rules = [x for x in r.stdout.splitlines() if x.startswith("-A")]
            if rules:
                raise AssertionError(f"NAT rules inside the namespace: {rules}")
            r = _run("iptables", "-t", "nat", "-S", check=False)
            net = str(self.subnet.network_address).rsplit(".", 1)[0] + "."
            rules = [x for x in r.stdout.splitlines() if x.startswith("-A") and net in x]
            if rules:
                raise AssertionError(f"NAT rules name the namespace's subnet: {rules}")

    def delete(self):
        if self.up:
            _run("ip", "netns", "del", self.ns, check=False)  # takes the veth pair with it
            self.up = False
        _run("ip", "link", "del", self.veth_host, check=False)


# -- the worker's view of names -----------------------------------------------------------------


def worker_wrapper(dir, names, worker_bin):
    """An executable that starts worker_bin in a private mount namespace whose /etc/hosts is
    this machine's plus names ({host name: address}). Returns its path."""
    hosts = os.path.join(dir, "hosts")
    with open("/etc/hosts", encoding="utf-8") as f:
        base = f.read()
    with open(hosts, "w", encoding="utf-8") as f:
        f.write(base.rstrip("\n") + "\n" + "".join(f"{a} {n}\n" for n, a in names.items()))
    wrapper = os.path.join(dir, "results-worker-hosts")
    with open(wrapper, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n# results-worker with a private /etc/hosts (test fixture)\n"
                "exec unshare --mount --propagation private sh -c "
                "'mount --bind \"$0\" /etc/hosts && exec \"$1\"' "
                f"'{hosts}' '{worker_bin}'\n")
    os.chmod(wrapper, 0o755)
    return wrapper


# -- the receiver (inside the namespace) --------------------------------------------------------


class Receiver:
    """Starts this module as the receiver inside netns; listeners: [(port, cert, key, alpn,
    max_requests)], alpn a list of protocols or None, max_requests the HTTP/1.1 requests one
    connection serves before the receiver closes it (as a server's keepalive_requests)."""

    def __init__(self, netns, listeners, log_path):
        self.netns = netns
        self.log_path = log_path
        open(log_path, "w").close()
        self.out = open(log_path + ".stderr", "wb")
        args = [sys.executable, os.path.abspath(__file__), "serve", "--addr", netns.addr,
                "--log", log_path]
        for port, cert, key, alpn, max_requests in listeners:
            args += ["--listener", f"{port},{cert},{key},{'+'.join(alpn or [])},{max_requests}"]
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns.ns, *args],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while sum(e["ev"] == "listening" for e in self.events()) < len(listeners):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(log_path + ".stderr", encoding="utf-8", errors="replace") as f:
                    raise AssertionError(f"receiver did not start: {f.read()[-2000:]}")
            time.sleep(0.05)

    def events(self, port=None, ev=None):
        out = []
        with open(self.log_path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # being written
                e = json.loads(line)
                if (port is None or e.get("port") == port) and (ev is None or e["ev"] == ev):
                    out.append(e)
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


_log_lock = threading.Lock()


def _emit(log, **ev):
    ev["t"] = time.time()
    line = json.dumps(ev) + "\n"
    with _log_lock:
        log.write(line)
        log.flush()


def _serve_h1(conn, log, port, max_requests):
    f = conn.makefile("rb")
    served = 0
    while True:
        line = f.readline(65537)
        if not line:
            return
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers = {}
        while True:
            h = f.readline(65537).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = f.read(int(headers.get("content-length", "0")))
        _emit(log, ev="request", port=port, proto="HTTP/1.1", method=method, path=path,
              headers=headers, body=body.decode("utf-8", "replace"))
        served += 1
        last = served >= max_requests or headers.get("connection", "").lower() == "close"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + (b"Connection: close\r\n" if last else b"")
                     + b"Content-Length: 2\r\n\r\n{}")
        if last:
            return


def _serve_h2(conn, log, port):
    h2c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    h2c.initiate_connection()
    conn.sendall(h2c.data_to_send())
    streams = {}
    while True:
        data = conn.recv(65536)
        if not data:
            return
        for e in h2c.receive_data(data):
            if isinstance(e, h2.events.RequestReceived):
                hd = {k.decode() if isinstance(k, bytes) else k:
                      v.decode() if isinstance(v, bytes) else v for k, v in e.headers}
                streams[e.stream_id] = {"headers": hd, "body": b""}
            elif isinstance(e, h2.events.DataReceived):
                streams[e.stream_id]["body"] += e.data
                h2c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            elif isinstance(e, h2.events.StreamEnded):
                s = streams.pop(e.stream_id)
                hd = s["headers"]
                _emit(log, ev="request", port=port, proto="HTTP/2", method=hd.get(":method"),
                      path=hd.get(":path"),
                      headers={k: v for k, v in hd.items() if not k.startswith(":")},
                      body=s["body"].decode("utf-8", "replace"))
                h2c.send_headers(e.stream_id, [(":status", "200"), ("content-length", "2"),
                                               ("content-type", "application/json")])
                h2c.send_data(e.stream_id, b"{}", end_stream=True)
            elif isinstance(e, h2.events.ConnectionTerminated):
                conn.sendall(h2c.data_to_send())
                return
        conn.sendall(h2c.data_to_send())


def _connection(raw, ctx, log, port, max_requests):
    try:
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            _emit(log, ev="tls_error", port=port, error=str(exc))
            return
        alpn = conn.selected_alpn_protocol()
        _emit(log, ev="handshake", port=port, reused=conn.session_reused, alpn=alpn,
              version=conn.version())
        try:
            if alpn == "h2":
                _serve_h2(conn, log, port)
            else:
                _serve_h1(conn, log, port, max_requests)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
    finally:
        with contextlib.suppress(OSError):
            raw.close()


def _listen(addr, spec, log):
    port, cert, key, alpn, max_requests = spec.split(",", 4)
    port, max_requests = int(port), int(max_requests)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if alpn:
        protos = alpn.split("+")
        if "h2" in protos and not HAVE_H2:
            raise SystemExit("h2 offered but the h2 package is missing")
        ctx.set_alpn_protocols(protos)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(128)
    _emit(log, ev="listening", port=port)

    def loop():
        while True:
            raw, peer = srv.accept()
            _emit(log, ev="accept", port=port, peer=peer[0])
            threading.Thread(target=_connection, args=(raw, ctx, log, port, max_requests), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--addr", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--listener", action="append", default=[],
                   help="port,cert,key,alpn,max: alpn the protocols joined by + (or empty), "
                   "max the HTTP/1.1 requests served on one connection before it is closed")
    a = p.parse_args(argv)
    log = open(a.log, "a", encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for spec in a.listener:
        _listen(a.addr, spec, log)
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
