"""Bounded memory: the gateway's interviews view at GATEWAY_VIEW_MAX_INTERVIEWS and the
worker's join at WORKER_JOIN_MAX_INTERVIEWS evict the interviews that finished first, never an
open one; with only open ones left a new one is refused; both are counted on /metrics.

Every event goes to partition 0 of its topic, so the services apply them in the order written
and "finished first" is known to the test.
"""

import hashlib
import time
import unittest

from harness import StackTestCase, await_true, http_request
from worker_util import await_metric, metric, requested_event, status_event

BOUND = 20


def gateway_metric(stack, name):
    """The value of an unlabelled series of the gateway's /metrics (ops listener), or None."""
    for line in stack.gw_ops("GET", "/metrics").body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.rpartition(" ")[2])
    return None


def bound_lines(svc, marker):
    """The lines of svc's log that report what its bound did."""
    svc.log.flush()
    with open(svc.log_path, encoding="utf-8", errors="replace") as f:
        return [ln for ln in f if marker in ln]


class GatewayViewBoundTest(StackTestCase):
    with_worker = False
    gateway_env = {"GATEWAY_VIEW_MAX_INTERVIEWS": str(BOUND)}

    def ids(self, prefix, n):
        s = self.stack
        return [hashlib.sha256(f"{prefix}-{s.run_id}-{i}".encode()).hexdigest()[:32]
                for i in range(n)]

    def requested(self, ids):
        s = self.stack
        s.kcat.produce_many(s.topics["requested"],
                            [(i, {"interview_id": i, "tenant": s.tenant_a["id"]}) for i in ids],
                            partition=0)

    def statuses(self, pairs):
        s = self.stack
        s.kcat.produce_many(s.topics["status"], [
            (i, {"interview_id": i, "status": st, "occurred_at": "2026-11-28T20:00:00Z"})
            for i, st in pairs], partition=0)

    def get(self, iid):
        return self.stack.gw("GET", f"/interviews/{iid}", token=self.stack.tenant_a["token"])

    def await_metric(self, name, value):
        await_true(lambda: gateway_metric(self.stack, name) == value, 30, f"{name} == {value}",
                   interval=0.1)

    def test_finished_first_are_evicted_open_ones_stay(self):
        finished = self.ids("finished", 10)
        pending = self.ids("pending", 5)
        fresh = self.ids("fresh", 5)  # requested, no status: open
        # The view holds 20: 10 that will finish, 5 pending, 5 with no status.
        self.requested(finished + pending + fresh)
        self.await_metric("ib_gateway_view_interviews", BOUND)
        # They finish in this order (the statuses differ: any terminal state counts).
        words = ["completed", "rejected", "expired", "declined"]
        self.statuses([(i, words[k % 4]) for k, i in enumerate(finished)] +
                      [(i, "pending") for i in pending])
        self.await_metric("ib_gateway_view_interviews_with_status", 15)
        self.assertEqual(gateway_metric(self.stack, "ib_gateway_view_interviews_evicted_total"), 0)

        # Five new ones: the five that finished first go.
        first = self.ids("new-a", 5)
        self.requested(first)
        self.await_metric("ib_gateway_view_interviews_evicted_total", 5)
        for iid in finished[:5]:
            self.assertError(self.get(iid), 404)
        for k, iid in enumerate(finished[5:], start=5):
            r = self.get(iid)
            want = "declined" if words[k % 4] == "rejected" else words[k % 4]
            self.assertEqual((r.status, r.json().get("status")), (200, want), r)
        for iid in pending + fresh + first:
            r = self.get(iid)
            self.assertEqual((r.status, r.json()), (200, {"status": "pending"}), r)

        # Eight more: five evict the other finished ones, the last three find only open ones.
        second = self.ids("new-b", 8)
        self.requested(second)
        self.await_metric("ib_gateway_view_interviews_dropped_total", 3)
        self.assertEqual(gateway_metric(self.stack, "ib_gateway_view_interviews_evicted_total"),
                         10)
        for iid in finished + second[5:]:
            self.assertError(self.get(iid), 404)
        for iid in pending + fresh + first + second[:5]:
            r = self.get(iid)
            self.assertEqual((r.status, r.json()), (200, {"status": "pending"}), r)
        self.assertEqual(gateway_metric(self.stack, "ib_gateway_view_interviews"), BOUND)
        # At the bound the replica stays ready: evicting is the bound working, and every
        # replica holds the same view.
        r = self.stack.gw_ops("GET", "/readyz")
        self.assertEqual(r.status, 200, r)
        # Logged, but not one line per record: 10 evictions and 3 drops in a few lines.
        lines = bound_lines(self.stack.gateway, "GATEWAY_VIEW_MAX_INTERVIEWS=20")
        self.assertTrue(any("dropped" in ln for ln in lines), lines)
        self.assertTrue(any("evicted" in ln for ln in lines), lines)
        self.assertLess(len(lines), 13, lines)


class WorkerJoinBoundTest(StackTestCase):
    with_gateway = False
    worker_env = {"WORKER_JOIN_MAX_INTERVIEWS": "3"}

    def interview(self):
        s = self.stack
        iid = s.unique("j")
        path = f"/interviews/{iid}"
        s.kcat.produce(s.topics["requested"], iid,
                       requested_event(s.tenant_a, iid, s.sim.url(path)), partition=0)
        return iid, path

    def publish(self, ev):
        self.stack.kcat.produce(self.stack.topics["status"], ev["interview_id"], ev, partition=0)

    def dead_letter(self, iid):
        return self.stack.kcat.await_messages(self.stack.topics["dlq"],
                                              lambda m: m["key"] == iid, timeout=30,
                                              what=f"dead letter of {iid}")[0]["value"]

    def test_evicted_and_refused_are_dead_lettered_never_sent(self):
        s = self.stack
        now = int(time.time() * 1000)
        a, a_path = self.interview()
        self.interview()
        self.interview()
        self.publish(status_event(a, "completed", now, 1))
        s.sim.wait(1, timeout=30, path=a_path)
        await_metric(s, "ib_worker_join_entries", 3)

        self.interview()  # at the bound: a (finished) makes room
        await_metric(s, "ib_worker_join_evicted_total", 1)
        self.publish(status_event(a, "completed", now + 60000, 2))  # a later result of a
        dl = self.dead_letter(a)
        self.assertIn("interview evicted from the join (finished)", dl["reason"], dl)
        self.assertEqual(len(s.sim.requests(a_path)), 1)

        e, e_path = self.interview()  # the other three are open: refused
        await_metric(s, "ib_worker_join_refused_total", 1)
        self.publish(status_event(e, "completed", now, 1))
        dl = self.dead_letter(e)
        self.assertIn("interview refused by the join (WORKER_JOIN_MAX_INTERVIEWS open interviews "
                      "held)", dl["reason"], dl)
        self.assertEqual(s.sim.requests(e_path), [])
        self.assertEqual(metric(s, "ib_worker_join_entries"), 3)
        self.assertEqual(metric(s, "ib_worker_join_evicted_total"), 1)
        lines = bound_lines(s.worker, "WORKER_JOIN_MAX_INTERVIEWS=3")
        self.assertTrue(any("refused" in ln for ln in lines), lines)
        self.assertTrue(any("evicted" in ln for ln in lines), lines)
        # The worker stays ready at its bound.
        r = http_request(s.worker.base, "GET", "/readyz", timeout=5)
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
