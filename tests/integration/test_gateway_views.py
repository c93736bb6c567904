"""api-gateway: readiness waits for the views; idempotent creation across replicas
and restarts; every replica holds the same view.
"""

import hashlib
import hmac
import signal
import unittest

from harness import StackTestCase, await_true, completed_status_event

CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}


class ReadinessTest(StackTestCase):
    with_worker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)

    def backlog(self, n, prefix):
        """n interviews of tenant A, each with a requested and a completed status event,
        published straight to the topics; returns their ids."""
        s = self.stack
        ids = [hashlib.sha256(f"{prefix}-{s.run_id}-{i}".encode()).hexdigest()[:32]
               for i in range(n)]
        s.kcat.produce_many(s.topics["requested"], [
            (iid, {"interview_id": iid, "tenant": s.tenant_a["id"]}) for iid in ids])
        s.kcat.produce_many(s.topics["status"], [
            (iid, {"interview_id": iid, "status": "expired",
                   "occurred_at": "2026-11-28T20:00:00Z"}) for iid in ids])
        return ids

    def test_not_ready_until_views_loaded(self):
        """Broker frozen while a replica starts: alive (healthz) but not ready, and the view
        endpoints answer 503 Retry-After rather than a false 404; ready and correct once Kafka
        answers."""
        s = self.stack
        iid = self.backlog(1, "frozen")[0]
        svc = None
        try:
            with s.broker.paused():
                svc = s.spawn_gateway(wait=False, name="api-gateway-late")

                def alive():
                    try:
                        return s.gw_at(svc, "GET", "/healthz", timeout=3).status == 200
                    except OSError:
                        return False
                await_true(alive, 20, "the replica to answer /healthz")
                self.assertError(s.gw_at(svc, "GET", "/readyz"), 503)
                for path in (f"/interviews/{iid}", "/interview-templates", "/jobs"):
                    r = s.gw_at(svc, "GET", path, token=s.tenant_a["token"])
                    self.assertError(r, 503)
                    self.assertRegex(r.headers.get("Retry-After", ""), r"^\d+$", r)
                r = s.gw_at(svc, "POST", "/interviews", s.interview_body(),
                            token=s.tenant_a["token"])
                self.assertError(r, 503)
            svc.wait_ready(60)
            r = s.gw_at(svc, "GET", f"/interviews/{iid}", token=s.tenant_a["token"])
            self.assertEqual((r.status, r.json()), (200, {"status": "expired"}), r)
        finally:
            if svc is not None:
                svc.stop()

    def test_ready_means_caught_up(self):
        """With a backlog, the first 200 of /readyz already serves the last backlog event."""
        s = self.stack
        ids = self.backlog(4000, "backlog")
        last = ids[-1]
        svc = s.spawn_gateway(wait=False, name="api-gateway-backlog")
        try:
            answers = []

            def ready():
                try:
                    r = s.gw_at(svc, "GET", "/readyz", timeout=3)
                except OSError:
                    return False
                answers.append(r.status)
                return r.status == 200
            await_true(ready, 60, "readyz", interval=0.01)
            r = s.gw_at(svc, "GET", f"/interviews/{last}", token=s.tenant_a["token"])
            self.assertEqual((r.status, r.json()), (200, {"status": "expired"}),
                             f"ready but the view lacks the backlog: {r!r}; readyz: {answers}")
            m = s.gw_ops("GET", "/metrics", svc=svc).body.decode()
            self.assertIn("ib_gateway_views_caught_up 1", m)
            self.assertIn('ib_gateway_view_lag_messages{view="status"} 0', m)
        finally:
            svc.stop()


class IdempotencyTest(StackTestCase):
    """Same tenant + callback_url -> same interview_id and ce_id, on another replica and after
    a restart, with no shared state but INTERVIEW_ID_SECRET."""

    with_worker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.publish_catalog(cls.stack.tenant_a, CATALOG)
        cls.stack.publish_catalog(cls.stack.tenant_b, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_a, CATALOG)
        cls.stack.await_templates(cls.stack.tenant_b, CATALOG)

    def test_same_id_and_ce_id_across_replicas_and_restart(self):
        s = self.stack
        token = s.tenant_a["token"]
        body = s.interview_body()
        replica = s.spawn_gateway(name="api-gateway-replica")
        try:
            r1 = s.gw("POST", "/interviews", body, token=token)
            self.assertEqual(r1.status, 201, r1)
            iid = r1.json()["interview_id"]
            r2 = s.gw_at(replica, "POST", "/interviews", body, token=token)
            self.assertEqual((r2.status, r2.json()), (201, {"interview_id": iid}), r2)

            self.assertEqual(s.gateway.stop(signal.SIGTERM, 30), 0, "exit code after SIGTERM")
            s.start_gateway()
            r3 = s.gw("POST", "/interviews", body, token=token)
            self.assertEqual((r3.status, r3.json()), (201, {"interview_id": iid}), r3)

            events = s.requested_events(iid)
            self.assertEqual(len(events), 3, events)
            ce_ids = {e["headers"].get("ce_id") for e in events}
            self.assertEqual(len(ce_ids), 1, ce_ids)
            self.assertTrue(next(iter(ce_ids)))
            # The id is the documented HMAC of tenant and callback_url.
            secret = ("it-secret-" + s.run_id).encode()
            want = hmac.new(secret, f"{s.tenant_a['id']}\n{body['callback_url']}".encode(),
                            hashlib.sha256).hexdigest()[:32]
            self.assertEqual(iid, want)

            # Another tenant, same callback_url: another interview.
            r4 = s.gw_at(replica, "POST", "/interviews", body, token=s.tenant_b["token"])
            self.assertEqual(r4.status, 201, r4)
            self.assertNotEqual(r4.json()["interview_id"], iid)

            # Both replicas (and the restarted one) serve the same view: each is awaited on its
            # own (they catch up independently), then their bodies must be byte-identical.
            s.publish_status(completed_status_event(iid), events[0]["partition"])
            bodies = []
            for svc in (s.gateway, replica):
                def done(svc=svc):
                    r = s.gw_at(svc, "GET", f"/interviews/{iid}", token=token)
                    return r.status == 200 and r.json().get("status") == "completed" and r
                bodies.append(await_true(done, 20, f"{svc.name} to see the completed state").body)
            self.assertEqual(bodies[0], bodies[1])
        finally:
            replica.stop()


if __name__ == "__main__":
    unittest.main()
