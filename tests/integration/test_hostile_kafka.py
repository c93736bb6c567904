"""Hostile Kafka input for the results-worker, table-driven from
tests/data/hostile_kafka.json: non-JSON and empty values, missing and wrong fields, unknown
status, arrays and deep nesting in details, 1 MiB values, odd keys, events for unknown
interviews, invalid requested events, duplicates and out-of-order events, forged retry records.

Every row ends as the exact delivered payload or a dead letter whose reason starts with the
row's prefix (and then nothing reaches its callback); the worker never stops consuming: after
the table a normal event is still delivered, the process is alive and ready. The count of
inputs tried is printed."""

import json
import os
import time
import unittest

from harness import REPO_ROOT, StackTestCase, await_true, http_request
from worker_util import requested_event

TABLE = os.path.join(REPO_ROOT, "tests", "data", "hostile_kafka.json")
BIG = 3 * 1024 * 1024  # max.message.bytes of the status topic and the producer for big rows


def _expand(v, subst):
    """Placeholders ({iid}, {simport}, {tenant}) and {"$repeat": s, "times": n}."""
    if isinstance(v, dict):
        if set(v) == {"$repeat", "times"}:
            return v["$repeat"] * v["times"]
        return {_expand(k, subst): _expand(x, subst) for k, x in v.items()}
    if isinstance(v, list):
        return [_expand(x, subst) for x in v]
    if isinstance(v, str):
        for k, x in subst.items():
            v = v.replace("{" + k + "}", x)
    return v


def _value_bytes(msg, subst):
    if msg.get("value_null"):
        return None
    if "value_hex" in msg:
        return bytes.fromhex(msg["value_hex"])
    if "value_hex_template" in msg:
        return bytes.fromhex(_expand(msg["value_hex_template"], subst))
    if "value_raw" in msg:
        return _expand(msg["value_raw"], subst).encode()
    return json.dumps(_expand(msg["value"], subst), separators=(",", ":"),
                      ensure_ascii=False).encode()


class HostileKafkaTest(StackTestCase):
    with_gateway = False
    worker_env = {"RETRY_SCHEDULE": "0s,200ms", "RETRY_MAX_AGE": "20s", "CALLBACK_TIMEOUT": "5s"}

    def test_hostile_table(self):
        s = self.stack
        with open(TABLE, encoding="utf-8") as f:
            rows = json.load(f)["rows"]
        if any(r.get("big_topic") for r in rows):
            # The repartition topic takes what the status topic takes (deploy/k8s does so).
            for t in ("status", "repartition"):
                s.broker.alter_topic_config(s.topics[t], **{"max.message.bytes": BIG})
        cases = []
        inputs = 0
        t0 = time.monotonic()
        for i, row in enumerate(rows):
            iid = s.unique("hk")
            subst = {"iid": iid, "simport": str(s.sim.port), "tenant": s.tenant_a["id"],
                     "iid_hex": iid.encode().hex()}
            # Status events on explicit partitions, requested events murmur2-partitioned like
            # the gateway's: most rows' status events are moved to their interview's partition.
            part = i % 6
            path = f"/h/{iid}"
            req = row.get("requested", True)
            if req is not False:
                value = requested_event(s.tenant_a, iid, s.sim.url(path))
                key = iid
                if isinstance(req, dict):
                    for k, v in _expand(req.get("merge", {}), subst).items():
                        if v is None:
                            value.pop(k, None)
                        else:
                            value[k] = v
                    key = _expand(req.get("key", iid), subst)
                    if "value_raw" in req:
                        value = _expand(req["value_raw"], subst)
                s.kcat.produce_raw(s.topics["requested"], key,
                                   value if isinstance(value, str) else
                                   json.dumps(value, separators=(",", ":")),
                                   config={"message.max.bytes": BIG})
                inputs += 1
            topic = s.topics["retry" if row.get("topic") == "retry" else "status"]
            for msg in row.get("messages") or [row]:
                key = _expand(msg["key"], subst) if "key" in msg else iid
                inputs += 1
                # The producer's own limit (1,000,000) raised; the broker's is the topic's.
                s.kcat.produce_raw(topic, key, _value_bytes(msg, subst), partition=part,
                                   config={"message.max.bytes": BIG})
            cases.append((row, iid, path, _expand(row["expect"], subst)))

        # Then a normal event: still consumed and delivered after all of the above.
        iid = s.unique("hk-after")
        path = f"/h/{iid}"
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)))
        s.kcat.produce(s.topics["status"], iid, {"interview_id": iid, "status": "completed",
                                                  "occurred_at": "2026-11-28T20:00:00Z"})
        after = s.sim.wait(1, timeout=60, path=path)
        self.assertEqual(after[0]["answered"], 200)
        self.assertEqual(after[0]["body"], {"status": "completed"})

        dls_wanted = {iid for _, iid, _, e in cases if "dead_letter" in e}
        got = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] in dls_wanted,
                                    timeout=90, count=len(dls_wanted),
                                    what=f"{len(dls_wanted)} dead letters")
        dls = {}
        for m in got:
            dls.setdefault(m["key"], []).append(m["value"])
        for _, iid, path, e in cases:
            if "delivered" in e:
                await_true(lambda: any(r["answered"] == 200 for r in s.sim.requests(path)), 60,
                           f"delivery of {iid}")
        all_dls = s.kcat.consume_all(s.topics["dlq"])
        partials = {}
        for m in all_dls:
            if isinstance(m["value"], dict) and m["value"].get("kind") == "partial":
                partials.setdefault(m["key"], []).append(m["value"])
        # A partial record is not a dead letter: the event was delivered.
        all_dl_keys = {m["key"] for m in all_dls if m["key"] not in partials or
                       not (isinstance(m["value"], dict) and m["value"].get("kind") == "partial")}
        outcomes = {"delivered": 0, "dead_letter": 0, "skipped": 0}
        for row, iid, path, e in cases:
            reqs = s.sim.requests(path)
            with self.subTest(row=row["name"]):
                if "skipped" in e:
                    outcomes["skipped"] += 1
                    self.assertNotIn(iid, all_dl_keys, "dead-lettered, wanted skipped")
                    self.assertEqual(reqs, [], "reached its callback, wanted skipped")
                elif "dead_letter" in e:
                    outcomes["dead_letter"] += 1
                    self.assertIn(iid, dls, "no dead letter")
                    reasons = [d["reason"] for d in dls[iid]]
                    self.assertTrue(all(r.startswith(e["dead_letter"]) for r in reasons),
                                    f"reasons {reasons}, wanted prefix {e['dead_letter']!r}")
                    self.assertEqual(reqs, [], "a dead-lettered event reached its callback")
                    if e.get("value_omitted"):  # too large to carry: pointed at, not copied
                        self.assertTrue(all(d["value"] is None and d["value_omitted_bytes"] >
                                            900000 for d in dls[iid]), dls[iid][0]["reason"])
                else:
                    outcomes["delivered"] += 1
                    self.assertNotIn(iid, all_dl_keys, "dead-lettered, wanted delivered")
                    oks = [r for r in reqs if r["answered"] == 200]
                    self.assertTrue(oks, reqs)
                    want = e["delivered"]
                    body = oks[-1]["body"]
                    if set(want) == set(body) or "results_url" in want:
                        self.assertEqual(body, want)
                    else:
                        self.assertEqual({k: body.get(k) for k in want}, want)
                    if "never_status" in e:
                        self.assertNotIn(e["never_status"], [r["body"]["status"] for r in reqs])
                    self.assertLessEqual(len(oks), e.get("max_deliveries", 1), reqs)
                    if "partial" in e:  # repaired or left out: recorded, not silently lost
                        await_true(lambda: iid in partials or _refresh(s, partials, iid), 30,
                                   f"partial record of {iid}")
                        self.assertEqual(sorted({f["kind"] for f in partials[iid][0]["fixes"]}),
                                         sorted(e["partial"]), partials[iid][0])
                    else:
                        self.assertNotIn(iid, partials, "a partial record for a clean event")
        self.assertTrue(s.worker.alive())
        self.assertEqual(http_request(s.worker.base, "GET", "/readyz").status, 200)
        figures = {"rows": len(rows), "inputs_tried": inputs + 2, "outcomes": outcomes,
                   "seconds": round(time.monotonic() - t0, 1)}
        print("\nhostile kafka figures: " + json.dumps(figures), flush=True)
        with open(os.path.join(s.dir, "hostile-kafka-figures.json"), "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)


def _refresh(stack, partials, iid):
    """Reads the dead-letter topic again for iid's partial record; True once found."""
    for m in stack.kcat.consume_all(stack.topics["dlq"]):
        if m["key"] == iid and isinstance(m["value"], dict) and m["value"].get("kind") == "partial":
            partials.setdefault(iid, []).append(m["value"])
            return True
    return False


if __name__ == "__main__":
    unittest.main()
