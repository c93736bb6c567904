"""results-worker with several processes in one consumer group.

Two workers share the group; the range assignor gives each the same partition numbers of
interviews.requested, .status and .retry, so each holds the join data for exactly the interviews
it delivers. The test checks that both workers deliver (the partitions are really split), that
every interview's final state arrives with none regressed, and that this still holds when one
worker is killed (-9) mid-run and the survivor takes over its partitions after the rebalance."""

import os
import random
import signal
import time
import unittest

from harness import Service, StackTestCase, await_true, free_port
from test_worker_soak import TERMINAL, _Records, supersedes
from worker_util import metric, requested_event, status_event


class WorkerGroupTest(StackTestCase):
    with_gateway = False
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,500ms", "CALLBACK_TIMEOUT": "10s",
                  "KAFKA_SESSION_TIMEOUT_MS": "6000", "LOG_LEVEL": "warn"}

    def start_second_worker(self):
        s = self.stack
        port = free_port()
        env = s._env()
        env.update({"WORKER_LISTEN": f"127.0.0.1:{port}", "WORKER_GROUP_ID": s.worker_group,
                    "RETRY_SCHEDULE": "0s,1s", "CALLBACK_TIMEOUT": "5s"})
        env.update(s.worker_env)
        w = Service("results-worker-2", os.environ.get("IB_WORKER_BIN"), env, port,
                    os.path.join(s.dir, "results-worker-2.log"))
        self.addCleanup(lambda: w.stop(signal.SIGKILL, 10) if w.alive() else None)
        w.wait_ready()
        return w

    def publish(self, n, rng, prefix):
        s = self.stack
        base = int(time.time() * 1000) - 3_600_000
        states, finals, requested, events = {}, {}, [], []
        for i in range(n):
            iid = f"{prefix}{s.run_id}{i}"
            requested.append((iid, requested_event(s.tenant_a, iid, s.sim.url(f"/s/{iid}"))))
            k = rng.randint(1, 3)
            st = {}
            for v in range(1, k + 1):
                status = "pending" if v < k else rng.choice(TERMINAL)
                st[v] = (status, base + v * 1000)
                events.append(status_event(iid, status, base + v * 1000, v))
            states[iid] = st
            best = None
            for v, x in st.items():
                if best is None or supersedes(st[best], x):
                    best = v
            finals[iid] = best
        rng.shuffle(events)
        s.kcat.produce_bulk(s.topics["requested"], requested)
        s.kcat.produce_bulk(s.topics["status"], [(e["interview_id"], e) for e in events])
        return states, finals

    def test_two_workers_split_partitions_and_survive_a_kill(self):
        s = self.stack
        rng = random.Random(11)
        s.sim.script("*", then={"mode": "mix", "seed": 3, "choices": [
            {"weight": 90, "status": 200}, {"weight": 10, "status": 503}]})
        second = self.start_second_worker()
        # second's /readyz answers only once it holds partitions (after the rebalance).
        n = 600
        states, finals = self.publish(n, rng, "g")
        reader = _Records(os.path.join(s.dir, "callback-sim.log.jsonl"))

        def delivered_final():
            reader.read()
            return sum(1 for iid, v in finals.items() if v in reader.ok_versions.get(iid, ()))

        await_true(lambda: delivered_final() >= n, 180, f"all {n} final states delivered",
                   interval=0.3)
        first_count = metric(s, "ib_worker_deliveries_total", {"outcome": "success"})
        s_second = type("S", (), {"worker": second})()
        second_count = metric(s_second, "ib_worker_deliveries_total", {"outcome": "success"})
        print(f"\ngroup: worker 1 delivered {first_count:.0f}, worker 2 {second_count:.0f}",
              flush=True)
        self.assertGreater(first_count, 0, "worker 1 delivered nothing: partitions not split")
        self.assertGreater(second_count, 0, "worker 2 delivered nothing: partitions not split")

        # Kill one member; the survivor must take over its partitions (requested re-read from
        # the beginning, so the join is complete) and deliver a second batch in full.
        second.stop(signal.SIGKILL, 10)
        states2, finals2 = self.publish(n, rng, "h")
        states.update(states2)
        finals.update(finals2)
        await_true(lambda: delivered_final() >= 2 * n, 240,
                   f"all {2 * n} final states delivered after the kill", interval=0.3)
        reader.read()

        regressions = [iid for iid, seq in reader.ok_sequence.items()
                       if any(supersedes(states[iid][seq[b]], states[iid][seq[a]])
                              for a in range(len(seq)) for b in range(a + 1, len(seq)))]
        self.assertEqual(regressions[:5], [])
        for iid, seq in reader.ok_sequence.items():
            self.assertEqual(seq[-1], finals[iid], f"{iid}: last delivered {seq}")


if __name__ == "__main__":
    unittest.main()
