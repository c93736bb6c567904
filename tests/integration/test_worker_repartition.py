"""results-worker: status events partitioned however the platform's client likes.

The gateway writes interviews.requested with the Java client's murmur2 partitioner; a platform on
a librdkafka client (confluent-kafka, kcat) writes interviews.status with CRC32
(consistent_random) by default, or with explicit partitions. The worker moves every status event
found on another partition than its interview's to interviews.status.repartition (partition
murmur2(id) mod N), where the owner of the interview's join reads it. These tests check that
nothing is dead-lettered for it and that no older state is delivered after a newer one, with
three replicas of which one is killed mid-run, and when the events were already waiting before
any worker started."""

import os
import random
import signal
import time
import unittest

from harness import Service, StackTestCase, await_true, free_port, murmur2_partition
from test_worker_soak import _Records
from worker_util import metric, requested_event, status_event, supersedes

PARTITIONS = 6  # the harness's per-class topics


class Murmur2Test(unittest.TestCase):
    """harness.murmur2_partition against the Java client (kafka-clients 3.9.2: Kafka's
    UtilsTest.testMurmur2 keys and others, toPositive(murmur2) % 6, 3 and 7), the values of
    tests/unit/shared/test_partition.c."""

    def test_java_client_vectors(self):
        vectors = {"": (3, 0, 2), "21": (0, 0, 3), "foobar": (0, 0, 0),
                   "a-little-bit-long-string": (2, 2, 1), "a-little-bit-longer-string": (5, 2, 0),
                   "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": (5, 2, 3),
                   "abc": (3, 0, 4), "iv_01HZX3Q6W4K8V9N2B7M5T1R0CD": (5, 2, 1), "x": (4, 1, 4),
                   "xy": (3, 0, 1)}
        for key, want in vectors.items():
            self.assertEqual(tuple(murmur2_partition(key, n) for n in (6, 3, 7)), want, key)


class _Base(StackTestCase):
    with_gateway = False
    worker_env = {"RETRY_SCHEDULE": "0s,200ms,500ms", "CALLBACK_TIMEOUT": "10s",
                  "KAFKA_SESSION_TIMEOUT_MS": "6000", "LOG_LEVEL": "warn"}

    def spawn_worker(self, name):
        s = self.stack
        port = free_port()
        env = s._env()
        env.update({"WORKER_LISTEN": f"127.0.0.1:{port}", "WORKER_GROUP_ID": s.worker_group})
        env.update(s.worker_env)
        w = Service(name, os.environ.get("IB_WORKER_BIN"), env, port,
                    os.path.join(s.dir, f"{name}.log"))
        self.addCleanup(lambda: w.stop(signal.SIGKILL, 10) if w.alive() else None)
        return w

    def publish_requested(self, ids):
        s = self.stack
        s.kcat.produce_bulk(s.topics["requested"],
                            [(iid, requested_event(s.tenant_a, iid, s.sim.url(f"/s/{iid}")))
                             for iid in ids])

    @staticmethod
    def states(base):
        """Version -> (status, occurred_ms): pending, completed, then a later completed result."""
        return {1: ("pending", base + 1000), 2: ("completed", base + 2000),
                3: ("completed", base + 3000)}

    def publish_version(self, ids, states, v, partitioner, partition_of=None):
        """Version v of every interview in ids, through one producer with partitioner (None:
        librdkafka's default); partition_of(iid): an explicit partition instead."""
        s = self.stack
        recs = [(iid, status_event(iid, states[iid][v][0], states[iid][v][1], v)) for iid in ids]
        if partition_of is None:
            s.kcat.produce_bulk(s.topics["status"], recs, partitioner=partitioner)
            return
        by_part = {}
        for iid, ev in recs:
            by_part.setdefault(partition_of(iid), []).append((iid, ev))
        for p, part_recs in sorted(by_part.items()):
            s.kcat.produce_bulk(s.topics["status"], part_recs, partition=p)

    def elsewhere(self, ids):
        """Status events of ids on another partition than their interview's requested event."""
        s = self.stack
        req = {m["key"]: m["partition"] for m in s.kcat.consume_all(s.topics["requested"])}
        return [m for m in s.kcat.consume_all(s.topics["status"])
                if m["key"] in ids and m["partition"] != req[m["key"]]]

    def assert_in_order(self, reader, states, ids, final):
        reader.read()
        regressions = [iid for iid, seq in reader.ok_sequence.items()
                       if any(supersedes(states[iid][seq[b]], states[iid][seq[a]])
                              for a in range(len(seq)) for b in range(a + 1, len(seq)))]
        self.assertEqual(regressions[:5], [], "an older state was delivered after a newer one")
        for iid in ids:
            seq = reader.ok_sequence.get(iid, [])
            self.assertTrue(seq and seq[-1] == final, f"{iid}: delivered {seq}")

    def assert_no_dead_letters(self):
        dls = self.stack.kcat.consume_all(self.stack.topics["dlq"])
        self.assertEqual([(m["key"], (m["value"] or {}).get("reason")
                           if isinstance(m["value"], dict) else m["value"]) for m in dls][:5], [])


class RepartitionGroupTest(_Base):
    """Three replicas; one platform producer on CRC32, one on murmur2; a replica killed (-9)
    mid-run and another started."""

    def test_three_replicas_two_partitioners_and_a_kill(self):
        s = self.stack
        n = 300
        rng = random.Random(5)
        crc = [f"c{s.run_id}{i}" for i in range(n)]
        mm = [f"m{s.run_id}{i}" for i in range(n)]
        ids = crc + mm
        base = int(time.time() * 1000) - 3_600_000
        states = {iid: self.states(base + rng.randint(0, 60_000)) for iid in ids}
        reader = _Records(os.path.join(s.dir, "callback-sim.log.jsonl"))

        t0 = time.monotonic()
        second = self.spawn_worker("results-worker-2")
        third = self.spawn_worker("results-worker-3")
        second.wait_ready()
        third.wait_ready()
        self.publish_requested(ids)
        for v in (1, 2):
            self.publish_version(crc, states, v, None)
            self.publish_version(mm, states, v, "murmur2_random")

        def delivered(v):
            reader.read()
            return sum(1 for iid in ids if v in reader.ok_versions.get(iid, ()))

        # Mid-run: some of version 2 delivered, then one replica dies and another joins.
        await_true(lambda: delivered(2) >= n // 2, 60, "half of version 2 delivered",
                   interval=0.2)
        third.stop(signal.SIGKILL, 10)
        fourth = self.spawn_worker("results-worker-4")
        self.publish_version(crc, states, 3, None)
        self.publish_version(mm, states, 3, "murmur2_random")
        fourth.wait_ready()
        await_true(lambda: delivered(3) >= 2 * n, 120, f"all {2 * n} final states delivered",
                   interval=0.3)

        moved = self.elsewhere(set(crc))
        print(f"\nrepartition: {len(moved)} of {3 * n} CRC32 status events elsewhere, "
              f"{len(s.kcat.consume_all(s.topics['repartition']))} moves, all {2 * n} final "
              f"states in {time.monotonic() - t0:.1f} s", flush=True)
        self.assertGreater(len(moved), n, "the CRC32 producer's events should mostly be elsewhere")
        self.assert_in_order(reader, states, ids, 3)
        self.assert_no_dead_letters()
        rep = s.kcat.consume_all(s.topics["repartition"])
        self.assertGreaterEqual(len(rep), len(moved))
        self.assertTrue(all(m["headers"].get("ib_source_topic") == s.topics["status"]
                            for m in rep), rep[:2])
        self.assertEqual({m["key"] for m in rep} - set(crc) - set(mm), set())


class RepartitionStartupTest(_Base):
    """Status events for interviews requested on other partitions are waiting (CRC32 and
    explicit wrong partitions) before the workers start: none is dead-lettered."""

    with_worker = False

    def test_waiting_events_are_moved_not_dead_lettered(self):
        s = self.stack
        n = 120
        crc = [f"c{s.run_id}{i}" for i in range(n)]
        wrong = [f"w{s.run_id}{i}" for i in range(n)]
        ids = crc + wrong
        base = int(time.time() * 1000) - 3_600_000
        states = {iid: self.states(base) for iid in ids}
        self.publish_requested(ids)
        req = {m["key"]: m["partition"] for m in s.kcat.consume_all(s.topics["requested"])}
        for v in (1, 2, 3):
            self.publish_version(crc, states, v, None)
            self.publish_version(wrong, states, v, None,
                                 partition_of=lambda iid: (req[iid] + 1) % PARTITIONS)
        moved = self.elsewhere(set(ids))
        self.assertGreaterEqual(len(moved), 3 * n)

        reader = _Records(os.path.join(s.dir, "callback-sim.log.jsonl"))
        # Two replicas start together: each holds only some requested partitions' joins.
        second = self.spawn_worker("results-worker-2")
        s.start_worker()
        second.wait_ready()
        await_true(lambda: (reader.read() or True) and
                   sum(1 for iid in ids if 3 in reader.ok_versions.get(iid, ())) >= len(ids),
                   90, f"all {len(ids)} final states delivered", interval=0.3)
        print(f"\nrepartition at start: {len(moved)} of {3 * len(ids)} status events waiting "
              f"elsewhere, all {len(ids)} final states delivered", flush=True)
        self.assert_in_order(reader, states, ids, 3)
        self.assert_no_dead_letters()
        s_second = type("S", (), {"worker": second})()
        self.assertGreaterEqual(metric(s, "ib_worker_status_repartitioned_total") +
                                metric(s_second, "ib_worker_status_repartitioned_total"),
                                len(moved))


class RepartitionDeadLetterTest(_Base):
    """A moved event that cannot be delivered is dead-lettered by its owner, naming where the
    platform wrote it (the move's headers), not the repartition topic."""

    def test_unknown_interview_dead_letter_names_the_status_position(self):
        s = self.stack
        base = int(time.time() * 1000)
        ids = [f"u{s.run_id}{p}" for p in range(PARTITIONS)]
        for p, iid in enumerate(ids):  # no requested event for any of them
            s.kcat.produce_bulk(s.topics["status"],
                                [(iid, status_event(iid, "completed", base, 1))], partition=p)
        where = {m["key"]: (m["partition"], m["offset"])
                 for m in s.kcat.consume_all(s.topics["status"]) if m["key"] in ids}
        dls = s.kcat.await_messages(s.topics["dlq"], lambda m: m["key"] in ids, timeout=60,
                                    count=len(ids), what=f"{len(ids)} dead letters")
        moved = {m["key"] for m in s.kcat.consume_all(s.topics["repartition"])}
        # Moved exactly when written elsewhere than the interview's (Java client's) partition.
        self.assertEqual(moved & set(ids),
                         {iid for p, iid in enumerate(ids) if murmur2_partition(iid, PARTITIONS) != p})
        for m in dls:
            v = m["value"]
            self.assertTrue(v["reason"].startswith("unknown interview_id"), v)
            self.assertEqual((v["source_topic"], v["partition"], v["offset"]),
                             (s.topics["status"], *where[m["key"]]), v)
        self.assertEqual(s.sim.requests(), [])


if __name__ == "__main__":
    unittest.main()
