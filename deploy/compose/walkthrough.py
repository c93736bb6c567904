#!/usr/bin/env python3
"""The README walk-through against the compose stack, as checks (scripts/test-compose).

    walkthrough.py create   CALLBACK_PATH           -> prints the interview id (201, and the
                                                       same id again for the same body)
    walkthrough.py templates                        -> the templates answer the demo catalog's
    walkthrough.py callback ID CALLBACK_PATH EVENT_JSON
                            waits for the simulator to record the PUT for CALLBACK_PATH and
                            checks method, token and the exact payload built from EVENT_JSON
                            (the status event as published); then polls GET /interviews/ID
                            until it answers the same payload
    walkthrough.py burst SECONDS_MAX STOP_CMD...
                            POSTs distinct interviews from 8 threads; after 40 answers of 201
                            runs STOP_CMD (stops the gateway: SIGTERM), goes on until the
                            gateway is gone, prints a JSON summary with every 201's id
    walkthrough.py requested-ids BOOTSTRAP           -> prints the interview ids present in
                                                       interviews.requested (kcat, whole topic)

Environment: GATEWAY (http://127.0.0.1:8080), SIM (http://127.0.0.1:8099), TOKEN
(demo-groove-tech-token), CALLBACK_TOKEN (demo-workable-callback-token), REPO (the repository).
Python 3 standard library only; every wait is bounded.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

GATEWAY = os.environ.get("GATEWAY", "http://127.0.0.1:8080")
SIM = os.environ.get("SIM", "http://127.0.0.1:8099")
TOKEN = os.environ.get("TOKEN", "demo-groove-tech-token")
CALLBACK_TOKEN = os.environ.get("CALLBACK_TOKEN", "demo-workable-callback-token")
REPO = os.environ.get("REPO", ".")


def fail(msg):
    sys.stderr.write("walkthrough: FAIL: %s\n" % msg)
    sys.exit(1)


def request(method, url, body=None, timeout=15, auth=True):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if auth:
        req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def create_body(callback_path):
    with open(os.path.join(REPO, "deploy/demo/create-interview.json")) as f:
        body = json.load(f)
    body["callback_url"] = "http://127.0.0.1:8099" + callback_path
    return body


def cmd_templates():
    status, text = request("GET", GATEWAY + "/interview-templates")
    if status != 200:
        fail("GET /interview-templates: %d %s" % (status, text))
    got = json.loads(text)
    with open(os.path.join(REPO, "deploy/demo/catalog.json")) as f:
        catalog = json.load(f)
    want = [{"id": t["id"], "name": t["name"]} for t in catalog["interview_templates"]]
    if got.get("interview_templates") != want:
        fail("templates %r, the demo catalog has %r" % (got, want))
    print(text)


def cmd_create(callback_path):
    body = create_body(callback_path)
    status, text = request("POST", GATEWAY + "/interviews", body)
    if status != 201:
        fail("POST /interviews: %d %s" % (status, text))
    iid = json.loads(text)["interview_id"]
    status2, text2 = request("POST", GATEWAY + "/interviews", body)
    if status2 not in (200, 201) or json.loads(text2).get("interview_id") != iid:
        fail("the same body again answered %d %s, not the same id %s" % (status2, text2, iid))
    print(iid)


def expected_payload(event):
    """Workable's result payload for a completed status event (the contract's shape)."""
    interview = dict(event["interview"])
    interview["score"] = str(interview["score"])
    payload = {"results_url": event["results_url"], "status": event["status"], "interview": interview}
    if "attachments" in event:
        payload["attachments"] = event["attachments"]
    return payload


def cmd_callback(iid, callback_path, event_json):
    event = json.loads(event_json)
    if event.get("interview_id") != iid:
        fail("event is for %s, not %s" % (event.get("interview_id"), iid))
    want = expected_payload(event)
    deadline = time.monotonic() + 120
    record = None
    while time.monotonic() < deadline and record is None:
        status, text = request("GET", SIM + "/_sim/wait?count=1&timeout=20&path=" + callback_path,
                               timeout=30, auth=False)
        if status == 200:
            record = json.loads(text)[-1]
    if record is None:
        fail("no callback for %s within 120 s" % callback_path)
    if record["method"] != "PUT":
        fail("callback method %s" % record["method"])
    if record["headers"].get("Authorization") != "Bearer " + CALLBACK_TOKEN:
        fail("callback Authorization %r" % record["headers"].get("Authorization"))
    got = json.loads(record["body_raw"])
    if got != want:
        fail("callback payload\n  got  %s\n  want %s" % (json.dumps(got, sort_keys=True),
                                                        json.dumps(want, sort_keys=True)))
    print("simulator: %s %s Authorization: %s -> %s" % (record["method"], record["path"],
                                                       record["headers"]["Authorization"], record["answered"]))
    print("payload:   %s" % record["body_raw"])
    deadline = time.monotonic() + 60
    last = None
    while time.monotonic() < deadline:
        status, text = request("GET", GATEWAY + "/interviews/" + iid)
        last = (status, text)
        if status == 200 and json.loads(text) == want:
            print("GET /interviews/%s: %s" % (iid, text))
            return
        time.sleep(0.5)
    fail("GET /interviews/%s never answered the payload; last %r" % (iid, last))


def cmd_burst(seconds_max, stop_cmd):
    lock = threading.Lock()
    results = []  # (status, interview_id or None)
    stop_started = threading.Event()
    gone = threading.Event()
    counter = [0]
    deadline = time.monotonic() + float(seconds_max)

    def worker(n):
        refused = 0
        while time.monotonic() < deadline and not gone.is_set():
            with lock:
                counter[0] += 1
                k = counter[0]
            body = create_body("/interviews/burst-%d-%d" % (n, k))
            try:
                status, text = request("POST", GATEWAY + "/interviews", body, timeout=30)
                iid = json.loads(text).get("interview_id") if status == 201 else None
                refused = 0
            except (OSError, ValueError) as e:
                status, iid = "error:%s" % type(e).__name__, None
                if stop_started.is_set():
                    refused += 1
                    if refused >= 20:
                        gone.set()
                    time.sleep(0.05)
            with lock:
                results.append((status, iid))
                ok = sum(1 for s, _ in results if s == 201)
            if ok >= 40 and not stop_started.is_set():
                with lock:
                    if not stop_started.is_set():
                        stop_started.set()
                        threading.Thread(target=lambda: subprocess.run(stop_cmd, check=False,
                                         stdout=subprocess.DEVNULL)).start()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summary = {}
    for s, _ in results:
        summary[str(s)] = summary.get(str(s), 0) + 1
    print(json.dumps({"stop_sent": stop_started.is_set(), "answers": summary,
                      "created": [i for s, i in results if s == 201]}))


def cmd_requested_ids(bootstrap):
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "interviews.requested", "-o", "beginning",
                          "-e", "-q", "-f", "%s\\n"], capture_output=True, timeout=120, check=False)
    if out.returncode != 0:
        fail("kcat: %s" % out.stderr.decode())
    for line in out.stdout.decode().splitlines():
        line = line.strip()
        if line:
            print(json.loads(line)["interview_id"])


def main(argv):
    if len(argv) < 2:
        fail("usage: see the module docstring")
    cmd, args = argv[1], argv[2:]
    if cmd == "templates":
        cmd_templates()
    elif cmd == "create":
        cmd_create(args[0])
    elif cmd == "callback":
        cmd_callback(args[0], args[1], args[2])
    elif cmd == "burst":
        cmd_burst(args[0], args[1:])
    elif cmd == "requested-ids":
        cmd_requested_ids(args[0])
    else:
        fail("unknown command %s" % cmd)


if __name__ == "__main__":
    main(sys.argv)
