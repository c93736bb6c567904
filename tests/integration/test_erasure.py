"""Erasure (scripts/erase, docs/DESIGN.md "Erasure"): one interview, then a whole tenant.

Gateway (two replicas, and more started after each erasure) + worker + callback simulator.
Interviews of two tenants are created through the gateway, some with a delivered status. After
`scripts/erase interview`, the interview answers 404 on every replica, including one started
after the erasure; a later status event for it sends no callback (it is an unknown interview:
dead-lettered) and makes nothing readable. After `scripts/erase tenant`, all of that tenant's
interviews answer 404 and the other tenant's are untouched, including one known only from the
changelog (interviews.state: its requested event gone with its retention). After the forced
compaction (--compact-now), the erased candidates' e-mail addresses are in no topic, read whole
with kcat, while a kept candidate's still is, and no erased interview has a value left in
interviews.state. The state records are written by the test itself, shaped as the worker writes
them, so the checks on the changelog do not depend on the worker writing one.
"""

import datetime
import os
import secrets
import subprocess
import unittest

from harness import REPO_ROOT, StackTestCase, await_true, completed_status_event, http_request, \
    patience

CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
ERASE = os.path.join(REPO_ROOT, "scripts", "erase")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ErasureTest(StackTestCase):
    worker_env = {"RETRY_SCHEDULE": "0s,1s"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        for t in (s.tenant_a, s.tenant_b):
            s.publish_catalog(t, CATALOG)
            s.await_templates(t, CATALOG)

    def erase(self, *args, timeout=120):
        s = self.stack
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOPIC_", "KAFKA_"))}
        env.update({"KAFKA_BOOTSTRAP_SERVERS": s.broker.bootstrap,
                    "TOPIC_REQUESTED": s.topics["requested"], "TOPIC_STATUS": s.topics["status"],
                    "TOPIC_RETRY": s.topics["retry"], "TOPIC_DLQ": s.topics["dlq"],
                    "TOPIC_STATE": s.topics["state"]})
        r = subprocess.run([ERASE, *args], env=env, capture_output=True, text=True,
                           timeout=patience(timeout) + 60)
        self.assertEqual(r.returncode, 0, f"scripts/erase {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def create(self, tenant):
        """A new interview of tenant through the gateway, with its own candidate e-mail; returns
        (interview_id, callback path, e-mail). Its callback URL goes to self.callbacks."""
        s = self.stack
        path = f"/interviews/{s.unique('er')}"
        email = f"{s.unique('candidate-')}@erasure.example"
        body = s.interview_body(path)
        body["candidate"] = dict(body["candidate"], email=email)
        r = s.gw("POST", "/interviews", body, token=tenant["token"])
        self.assertEqual(r.status, 201, r)
        iid = r.json()["interview_id"]
        s.kcat.await_messages(s.topics["requested"], lambda m: m["key"] == iid,
                              what=f"interviews.requested event of {iid}")
        self.callbacks[iid] = body["callback_url"]
        return iid, path, email

    def deliver(self, iid, path, tenant):
        """The completed status event, delivered; then its interviews.state record."""
        s = self.stack
        event = completed_status_event(iid, now_rfc3339())
        s.publish_status(event)
        got = s.sim.wait(1, timeout=30, path=path)
        self.assertEqual(got[0]["answered"], 200, got)
        s.publish_state(event, tenant, self.callbacks[iid])

    def await_get(self, svc, tenant, iid, status, what, state=None):
        """GET /interviews/{iid} on svc until it answers status (200: with state, when given)."""
        s = self.stack
        last = {}

        def check():
            last["r"] = r = s.gw_at(svc, "GET", f"/interviews/{iid}", token=tenant["token"])
            return r.status == status and (state is None or r.json().get("status") == state)
        try:
            await_true(check, 30, f"{what}: GET /interviews/{iid} {status} on {svc.name}",
                       interval=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last {last.get('r')!r}") from None

    def topic_bytes(self):
        """Every topic of the stack read whole (keys, values, headers): {topic: bytes}."""
        s = self.stack
        out = {}
        for name, topic in s.topics.items():
            r = subprocess.run(["kcat", "-C", "-b", s.broker.bootstrap, "-t", topic, "-e", "-q",
                                "-o", "beginning", "-f", "%k\t%s\t%h\n"],
                               capture_output=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            out[name] = r.stdout
        return out

    def test_erase_interview_then_tenant(self):
        s = self.stack
        a, b = s.tenant_a, s.tenant_b
        self.callbacks = {}
        replica = s.spawn_gateway(name="api-gateway-second")
        late = None
        fresh = None
        try:
            gone, gone_path, gone_email = self.create(a)
            kept, kept_path, kept_email = self.create(a)
            b1, b1_path, b1_email = self.create(b)
            b2, _, b2_email = self.create(b)
            for iid, path, t in ((gone, gone_path, a), (kept, kept_path, a), (b1, b1_path, b)):
                self.deliver(iid, path, t)
            # An interview of b known from the changelog alone: its requested event has left
            # interviews.requested (retention), its state is kept.
            b3 = secrets.token_hex(16)
            s.publish_state(completed_status_event(b3, now_rfc3339()), b,
                            s.sim.url(f"/interviews/{s.unique('er')}"))
            for svc in (s.gateway, replica):
                self.await_get(svc, a, gone, 200, "before the erasure", "completed")
                r = s.gw_at(svc, "GET", f"/interviews/{gone}/shared-link", token=a["token"])
                self.assertEqual(r.status, 200, r)
                self.await_get(svc, a, kept, 200, "before the erasure", "completed")
                self.await_get(svc, b, b1, 200, "before the erasure", "completed")
                self.await_get(svc, b, b3, 200, "known from interviews.state alone", "completed")
                self.await_get(svc, a, b3, 404, "another tenant's interview from the changelog")

            # -- one interview --
            out = self.erase("interview", gone)
            # Not the platform's status topic: a delete topic (it takes records without a key).
            self.assertIn(f"tombstone {gone} -> {s.topics['requested']}[0-5] "
                          f"{s.topics['retry']}[0-5] {s.topics['dlq']}[0-2] "
                          f"{s.topics['state']}[0-5]", out)
            for svc in (s.gateway, replica):
                self.await_get(svc, a, gone, 404, "erased")
                r = s.gw_at(svc, "GET", f"/interviews/{gone}/shared-link", token=a["token"])
                self.assertEqual(r.status, 404, r)
                self.await_get(svc, a, kept, 200, "another interview of the tenant")
                self.await_get(svc, b, b1, 200, "another tenant's interview")
            late = s.spawn_gateway(name="api-gateway-after-erasure")
            self.await_get(late, a, gone, 404, "replica started after the erasure")
            self.await_get(late, a, kept, 200, "replica started after the erasure")

            # A later status event: an unknown interview for the worker (dead letter), never a
            # callback, and still no owner in the views.
            s.publish_status(completed_status_event(gone, now_rfc3339()))
            dls = s.kcat.await_messages(
                s.topics["dlq"], lambda m: m["key"] == gone and m["value"] is not None,
                timeout=30, what=f"the dead letter of the later status event of {gone}")
            reasons = [m["value"]["reason"] for m in dls]
            self.assertTrue(all(x.startswith("unknown interview_id") for x in reasons), reasons)
            self.assertEqual(len(s.sim.requests(gone_path)), 1, "a callback after the erasure")
            for svc in (s.gateway, replica, late):
                r = s.gw_at(svc, "GET", f"/interviews/{gone}", token=a["token"])
                self.assertEqual(r.status, 404, r)
            # The tombstones on the requested and retry topics were skipped, not dead-lettered.
            def tombstones():
                m = http_request(s.worker.base, "GET", "/metrics").body.decode()
                return sum(float(x.split()[-1]) for x in m.splitlines()
                           if x.startswith("ib_worker_tombstones_total"))
            await_true(lambda: tombstones() >= 12, 30, "the worker to read the 12 tombstones "
                       "of the requested and retry topics x 6 partitions")
            invalid = [m for m in s.kcat.consume_all(s.topics["dlq"])
                       if isinstance(m["value"], dict) and
                       m["value"].get("reason", "").startswith("invalid")]
            self.assertEqual(invalid, [], "a tombstone dead-lettered as invalid")

            # -- a whole tenant --
            # b3 is found in interviews.state only.
            out = self.erase("tenant", b["id"])
            self.assertIn(f"tenant {b['id']}: 3 interview(s)", out)
            for svc in (s.gateway, replica, late):
                self.await_get(svc, b, b1, 404, "tenant erased")
                self.await_get(svc, b, b2, 404, "tenant erased")
                self.await_get(svc, b, b3, 404, "tenant erased (found in interviews.state)")
                self.await_get(svc, a, kept, 200, "the other tenant")

            # -- the bytes --
            # The dead letter written after the erasure is the latest record of its key: erased
            # again, as an operator would, with the compaction forced this time.
            self.erase("interview", gone, "--compact-now", "--timeout",
                       str(int(patience(120))), timeout=180)
            topics = self.topic_bytes()
            for email in (gone_email, b1_email, b2_email):
                where = [t for t, data in topics.items() if email.encode() in data]
                self.assertEqual(where, [], f"{email} still in {where}")
            self.assertIn(kept_email.encode(), topics["requested"], "a kept candidate erased")
            # The status topic keeps the platform's events (results, no contact details) until
            # its retention: a fresh replica reads them and still answers 404 (no owner).
            ours = b"".join(data for name, data in topics.items() if name != "status")
            for iid in (gone, b1, b2, b3):
                self.assertNotIn(iid.encode() + b"\t{", ours,
                                 f"a value keyed {iid} survived the compaction")
                self.assertNotIn(iid.encode() + b"\t{", topics["state"],
                                 f"the state of {iid} survived the compaction")
            self.assertIn(kept.encode() + b"\t{", topics["state"], "a kept interview's state erased")
            self.assertIn(gone.encode() + b"\t{", topics["status"])

            # A replica started after the compaction finds nothing for them.
            fresh = s.spawn_gateway(name="api-gateway-after-compaction")
            self.await_get(fresh, a, gone, 404, "after the compaction")
            self.await_get(fresh, b, b1, 404, "after the compaction")
            self.await_get(fresh, b, b3, 404, "after the compaction")
            self.await_get(fresh, a, kept, 200, "after the compaction")
            r = s.gw_at(fresh, "GET", f"/interviews/{kept}", token=a["token"])
            self.assertEqual(r.json()["status"], "completed", r)
            self.assertEqual(len(s.sim.requests(gone_path)), 1)
            self.assertTrue(s.worker.alive())
        finally:
            for svc in (replica, late, fresh):
                if svc is not None:
                    svc.stop()


if __name__ == "__main__":
    unittest.main()
