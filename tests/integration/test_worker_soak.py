"""results-worker soak: IB_SOAK_INTERVIEWS interviews [10000], published
with kcat in bulk (murmur2-partitioned like the gateway), each with one to four status events
published out of order (some with a pending event later than the terminal one), random failures
from the callback simulator (5xx, 429 with Retry-After, connection resets, slow answers) and
three kill -9 restarts of the worker during the run.

Checks: every interview's final state delivered (2xx); no interview regressed (in the order the
simulator answered 2xx, no state is followed by an older one); prints and stores the figures
(PUTs, 2xx, duplicate 2xx PUTs, time) in the artifacts directory (soak-figures.json)."""

import json
import os
import random
import signal
import time
import unittest

from harness import StackTestCase, await_true
from worker_util import requested_event, status_event

TERMINAL = ("completed", "declined", "expired")


ORDER = {"pending": 0, "completed": 1, "declined": 2, "expired": 3}


def supersedes(cur, nxt):
    """results-worker's order (join.h rw_status_compare): nxt = (status, ms) is newer than cur.
    A terminal status beats pending; then the later occurred_at; then the status order."""
    def key(x):
        return (x[0] in TERMINAL, x[1], ORDER[x[0]])
    return key(nxt) > key(cur)


class WorkerSoakTest(StackTestCase):
    with_gateway = False
    # CALLBACK_TIMEOUT stays long: the Python simulator can stall for seconds under this load,
    # and a PUT we gave up on may still be answered (and recorded as delivered) later.
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,500ms,1s", "CALLBACK_TIMEOUT": "15s",
                  "BREAKER_THRESHOLD": "50", "BREAKER_COOLDOWN": "500ms",
                  "CALLBACK_HOST_CONCURRENCY": "48", "WORKER_MAX_INFLIGHT": "64",
                  "KAFKA_SESSION_TIMEOUT_MS": "6000",
                  "LOG_LEVEL": os.environ.get("IB_SOAK_LOG_LEVEL", "warn")}

    def test_soak_with_kills(self):
        s = self.stack
        n = int(os.environ.get("IB_SOAK_INTERVIEWS", "10000"))
        rng = random.Random(int(os.environ.get("IB_SOAK_SEED", "4")))
        s.sim.script("*", then={"mode": "mix", "seed": 7, "choices": [
            {"weight": 80, "status": 200},
            {"weight": 6, "status": 503, "body": "busy"},
            {"weight": 4, "status": 429, "headers": {"Retry-After": "1"}},
            {"weight": 4, "mode": "reset"},
            {"weight": 4, "status": 200, "delay_ms": 150},
            {"weight": 2, "status": 500}]})

        base = int(time.time() * 1000) - 3_600_000
        states = {}   # iid -> {version: (status, ms)}
        finals = {}   # iid -> version expected last
        requested = []
        events = []
        for i in range(n):
            iid = f"soak{s.run_id}{i}"
            requested.append((iid, requested_event(s.tenant_a, iid, s.sim.url(f"/s/{iid}"))))
            k = rng.randint(1, 3)
            st = {}
            for v in range(1, k + 1):
                status = "pending" if v < k else rng.choice(TERMINAL + ("rejected",))
                st[v] = (status if status != "rejected" else "declined", base + v * 1000)
                events.append(status_event(iid, status, base + v * 1000, v))
            if k > 1 and rng.random() < 0.15:
                # A pending state later than the terminal one: must never be delivered.
                v = k + 1
                st[v] = ("pending", base + v * 1000)
                events.append(status_event(iid, "pending", base + v * 1000, v))
            states[iid] = st
            best = None
            for v, x in st.items():
                if best is None or supersedes(st[best], x):
                    best = v
            finals[iid] = best
        rng.shuffle(events)  # out of order within each interview too

        t0 = time.monotonic()
        s.kcat.produce_bulk(s.topics["requested"], requested)
        record = os.path.join(s.dir, "callback-sim.log.jsonl")
        reader = _Records(record)

        def delivered_final():
            reader.read()
            return sum(1 for iid, v in finals.items() if v in reader.ok_versions.get(iid, ()))

        chunks = [events[: len(events) // 3], events[len(events) // 3: 2 * len(events) // 3],
                  events[2 * len(events) // 3:]]
        kills = 0
        for i, chunk in enumerate(chunks):
            s.kcat.produce_bulk(s.topics["status"], [(e["interview_id"], e) for e in chunk])
            # Kill while deliveries are flowing: once a quarter, half, three quarters are done.
            goal = n * (i + 1) // 4
            await_true(lambda: delivered_final() >= goal, 600,
                       f"{goal} final states delivered", interval=0.5)
            s.worker.stop(signal.SIGKILL, 10)
            kills += 1
            s.start_worker()
        await_true(lambda: delivered_final() >= n, 900, f"all {n} final states delivered",
                   interval=0.5)
        elapsed = time.monotonic() - t0
        reader.read()

        regressions = []
        for iid, seq in reader.ok_sequence.items():
            st = states[iid]
            for a in range(len(seq)):
                for b in range(a + 1, len(seq)):
                    if supersedes(st[seq[b]], st[seq[a]]):
                        regressions.append((iid, seq))
                        break
                else:
                    continue
                break
        late_pending = [iid for iid, seq in reader.ok_sequence.items()
                        if any(states[iid][v][0] == "pending" and
                               any(states[iid][w][0] in TERMINAL for w in seq[:j])
                               for j, v in enumerate(seq))]
        oks = sum(len(v) for v in reader.ok_sequence.values())
        distinct = sum(len(set(v)) for v in reader.ok_sequence.values())
        figures = {"interviews": n, "status_events": len(events), "kills": kills,
                   "puts": reader.total, "puts_2xx": oks,
                   "duplicate_2xx_puts": oks - distinct,
                   "superseded_states_never_sent": sum(len(states[i]) for i in states) - distinct,
                   "regressions": len(regressions), "pending_after_terminal": len(late_pending),
                   "seconds": round(elapsed, 1)}
        with open(os.path.join(s.dir, "soak-figures.json"), "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
        print("\nsoak figures: " + json.dumps(figures), flush=True)
        self.assertEqual(regressions[:5], [])
        self.assertEqual(late_pending[:5], [])
        missing = [i for i, v in finals.items() if v not in reader.ok_versions.get(i, ())]
        self.assertEqual(missing[:5], [])
        for iid, seq in reader.ok_sequence.items():
            self.assertEqual(seq[-1], finals[iid], f"{iid}: last delivered {seq}")


class _Records:
    """Incremental reader of the simulator's --record file."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.total = 0
        self.ok_sequence = {}
        self.ok_versions = {}

    def read(self):
        if not os.path.exists(self.path):
            return
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.pos += end
        for line in data[:end].splitlines():
            r = json.loads(line)
            if not r["path"].startswith("/s/"):
                continue
            self.total += 1
            if not (isinstance(r["answered"], int) and 200 <= r["answered"] < 300):
                continue
            iid = r["path"][3:]
            url = (r["body"] or {}).get("results_url", "") if isinstance(r["body"], dict) else ""
            v = int(url.rsplit("/", 1)[1])
            self.ok_sequence.setdefault(iid, []).append(v)
            self.ok_versions.setdefault(iid, set()).add(v)


if __name__ == "__main__":
    unittest.main()
