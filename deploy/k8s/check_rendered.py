#!/usr/bin/env python3
"""Checks of the rendered manifests that no generic linter knows: the design's invariants.

    check_rendered.py k8s RENDERED.yaml...      Strimzi objects against crd-schemas/, topic
                                                invariants, probes, security, drain budget
    check_rendered.py compose CONFIG.yaml       docker-compose config output: health checks and
                                                depends_on conditions

Run by scripts/check-deploy with a Python that has PyYAML and jsonschema. Prints one line per
check group and every problem; exits 1 on any problem.
"""
import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOPIC_VARS = ("TOPIC_REQUESTED", "TOPIC_STATUS", "TOPIC_CATALOG", "TOPIC_RETRY", "TOPIC_DLQ",
              "TOPIC_STATUS_REPARTITION", "TOPIC_STATE")
# The raw status topics' retention: the transport window, which must cover the worker's longest
# outage (docs/DESIGN.md "Lifecycle and the changelog"); the changelog keeps the states.
STATUS_RETENTION_MIN_MS = 7 * 86400000
problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def duration_s(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text)
    if not m:
        raise ValueError(f"bad duration {text!r}")
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 0.001}[m.group(2)]
    return int(m.group(1)) * mult


def load_schema(name):
    with open(os.path.join(HERE, "crd-schemas", name), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def check_k8s(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    name = os.path.basename(path)
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)

    # Strimzi custom resources: kubernetes-validate has no schema for them.
    validators = {"KafkaTopic": load_schema("kafkatopic-v1beta2.json"),
                  "KafkaUser": load_schema("kafkauser-v1beta2.json")}
    ncrd = 0
    for kind, v in validators.items():
        for d in by_kind.get(kind, []):
            ncrd += 1
            for e in v.iter_errors(d):
                problem(f"{name} {kind}/{d['metadata']['name']}", f"{'/'.join(map(str, e.path))}: {e.message}")

    # The environment the services get: merged ConfigMaps referenced by envFrom.
    cms = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind.get("ConfigMap", [])}
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    env = {}
    for dname, d in deployments.items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        e = {}
        for ref in c.get("envFrom", []):
            cm = ref.get("configMapRef", {}).get("name")
            if cm not in cms:
                problem(f"{name} Deployment/{dname}", f"envFrom ConfigMap {cm} is not rendered")
            e.update(cms.get(cm, {}))
        for v in c.get("env", []):
            e[v["name"]] = v.get("value", "<from " + ",".join(v.get("valueFrom", {})) + ">")
        env[dname] = e

    # Topics: the seven of docs/DESIGN.md, with the invariants the services rely on.
    topics = {}
    for t in by_kind.get("KafkaTopic", []):
        spec = t["spec"]
        topics[spec.get("topicName", t["metadata"]["name"])] = spec
    wanted = {}
    for dname, e in env.items():
        for var in TOPIC_VARS:
            if var in e:
                wanted.setdefault(var, set()).add(e[var])
    names = {}
    for var in TOPIC_VARS:
        vals = wanted.get(var, set())
        if len(vals) != 1:
            problem(name, f"{var} must be set once for both services, got {sorted(vals)}")
            continue
        names[var] = next(iter(vals))
        if names[var] not in topics:
            problem(name, f"no KafkaTopic for {var}={names[var]}")
    if len(names) == len(TOPIC_VARS) and all(n in topics for n in names.values()):
        # Requested, retry, repartition and state must be equal (the worker refuses to start
        # otherwise); status equal too keeps every event on the fast path (no move).
        parts = {v: topics[names[v]]["partitions"]
                 for v in ("TOPIC_REQUESTED", "TOPIC_STATUS", "TOPIC_RETRY", "TOPIC_STATUS_REPARTITION",
                           "TOPIC_STATE")}
        if len(set(parts.values())) != 1:
            problem(name, f"requested, status, retry, repartition and state need the same partition count: {parts}")
        st_max = int(topics[names["TOPIC_STATUS"]].get("config", {}).get("max.message.bytes", 1048588))
        rp_max = int(topics[names["TOPIC_STATUS_REPARTITION"]].get("config", {}).get("max.message.bytes", 1048588))
        if rp_max < st_max + 4096:
            problem(name, f"the repartition topic's max.message.bytes ({rp_max}) must exceed the status "
                          f"topic's ({st_max}) by its headers (4096)")
        if topics[names["TOPIC_CATALOG"]].get("config", {}).get("cleanup.policy") != "compact":
            problem(name, "the catalog topic must be compacted (cleanup.policy: compact)")
        if topics[names["TOPIC_STATUS"]].get("config", {}).get("cleanup.policy") != "delete":
            problem(name, "the status topic takes records without a key: cleanup.policy delete "
                    "(a compacted topic refuses them)")
        # The changelog: records leave only by tombstone (erasure, INTERVIEW_KEEP_FINISHED).
        if topics[names["TOPIC_STATE"]].get("config", {}).get("cleanup.policy") != "compact":
            problem(name, f"{names['TOPIC_STATE']} is the interviews' changelog: cleanup.policy compact "
                    "(no delete: an interview's latest state is kept until its tombstone)")
        for var in ("TOPIC_REQUESTED", "TOPIC_RETRY", "TOPIC_DLQ"):
            if topics[names[var]].get("config", {}).get("cleanup.policy") != "compact,delete":
                problem(name, f"{names[var]} carries interview data: cleanup.policy compact,delete "
                        "so that a tombstone erases it (docs/DESIGN.md, Erasure)")
        for var, tname in names.items():
            spec = topics[tname]
            if spec.get("replicas") != 3 or int(spec.get("config", {}).get("min.insync.replicas", 0)) != 2:
                problem(name, f"{tname}: replicas 3 and min.insync.replicas 2 (docs/DESIGN.md)")
        # The raw status events (and their moved copies) are the transport: kept at least the
        # window the worker may be down or behind, stated here rather than left to the broker's
        # default; the states themselves are in the changelog.
        for var in ("TOPIC_STATUS", "TOPIC_STATUS_REPARTITION"):
            ret = topics[names[var]].get("config", {}).get("retention.ms")
            if ret is None:
                problem(name, f"{names[var]}: set retention.ms (at least {STATUS_RETENTION_MIN_MS} ms, 7 days)")
            elif int(ret) != -1 and int(ret) < STATUS_RETENTION_MIN_MS:
                problem(name, f"{names[var]} retention ({int(ret)} ms) must be at least "
                        f"{STATUS_RETENTION_MIN_MS} ms (7 days): the worker's longest outage")
        retry_age = duration_s(env.get("results-worker", {}).get("RETRY_MAX_AGE", "72h"))
        ret = int(topics[names["TOPIC_RETRY"]].get("config", {}).get("retention.ms", -1))
        if ret != -1 and ret / 1000 <= retry_age:
            problem(name, f"retry topic retention ({ret} ms) must exceed RETRY_MAX_AGE")

    # KafkaUser ACLs name only topics and groups that exist.
    for u in by_kind.get("KafkaUser", []):
        for acl in u["spec"].get("authorization", {}).get("acls", []):
            r = acl["resource"]
            if r["type"] == "topic" and r.get("name") not in topics:
                problem(f"{name} KafkaUser/{u['metadata']['name']}", f"ACL on unknown topic {r.get('name')}")
            if r["type"] == "group" and r.get("name") != env.get("results-worker", {}).get("WORKER_GROUP_ID"):
                problem(f"{name} KafkaUser/{u['metadata']['name']}", f"ACL on group {r.get('name')} != WORKER_GROUP_ID")

    # Deployments: probes, security, resources, drain budget, tenants Secret, spreading.
    pdbs = by_kind.get("PodDisruptionBudget", [])
    netpols = by_kind.get("NetworkPolicy", [])
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    secrets_needed = set()
    for dname, d in deployments.items():
        where = f"{name} Deployment/{dname}"
        pod = d["spec"]["template"]["spec"]
        labels = d["spec"]["template"]["metadata"]["labels"]
        c = pod["containers"][0]
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = c.get(probe, {}).get("httpGet", {}).get("path")
            if got != path:
                problem(where, f"{probe} must GET {path}, has {got}")
        # The gateway's probes and scrape on its operations listener, never the API port.
        if "GATEWAY_OPS_LISTEN" in env.get(dname, {}):
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
            ops_port = int(env[dname]["GATEWAY_OPS_LISTEN"].rsplit(":", 1)[1])
            if ports.get("ops") != ops_port:
                problem(where, f"container port 'ops' must be GATEWAY_OPS_LISTEN's {ops_port}")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if c.get(probe, {}).get("httpGet", {}).get("port") != "ops":
                    problem(where, f"{probe} must use port ops (the operations listener)")
            ann = d["spec"]["template"]["metadata"].get("annotations", {})
            if ann.get("prometheus.io/port") != str(ops_port):
                problem(where, f"prometheus.io/port must be the operations port {ops_port}")
        psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
        if not (psc.get("runAsNonRoot") or sc.get("runAsNonRoot")):
            problem(where, "runAsNonRoot")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(where, "readOnlyRootFilesystem: true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(where, "allowPrivilegeEscalation: false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(where, "capabilities drop ALL")
        if (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problem(where, "seccompProfile RuntimeDefault")
        res = c.get("resources", {})
        for k in ("cpu", "memory"):
            if k not in res.get("requests", {}) or k not in res.get("limits", {}):
                problem(where, f"resources requests and limits of {k}")
        if pod.get("enableServiceLinks") is not False:
            problem(where, "enableServiceLinks: false (KAFKA_* service variables would reach librdkafka)")
        if pod.get("automountServiceAccountToken") is not False:
            problem(where, "automountServiceAccountToken: false")
        if not pod.get("topologySpreadConstraints"):
            problem(where, "topologySpreadConstraints")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        e = env[dname]
        if "GATEWAY_PRODUCE_TIMEOUT" in e:
            pre = 0
            cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
            if cmd[:1] == ["sleep"]:
                pre = int(cmd[1])
            # waiting creations (timeout + 2 s) then the producer flush (timeout + 2 s)
            need = pre + 2 * (duration_s(e["GATEWAY_PRODUCE_TIMEOUT"]) + 2)
            if grace <= need:
                problem(where, f"terminationGracePeriodSeconds {grace} <= drain {need} s")
        if "CALLBACK_TIMEOUT" in e:
            need = 2 * duration_s(e["CALLBACK_TIMEOUT"]) + 5
            if grace < need:
                problem(where, f"terminationGracePeriodSeconds {grace} < drain {need} s")
        tf = e.get("TENANTS_FILE", "")
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        ok = False
        for v in pod.get("volumes", []):
            if "secret" in v and v["name"] in mounts and tf.startswith(mounts[v["name"]].rstrip("/") + "/"):
                ok = True
                secrets_needed.add(v["secret"]["secretName"])
        if not ok:
            problem(where, f"TENANTS_FILE {tf} is not in a mounted Secret")
        # The Workable callback tokens reach the worker only; the gateway never calls back.
        token_secret = "interview-bridge-workable-tokens"
        mounted = {v["secret"]["secretName"] for v in pod.get("volumes", [])
                   if "secret" in v and v["name"] in mounts}
        if "CALLBACK_TIMEOUT" in e and token_secret not in mounted:
            problem(where, f"Secret {token_secret} (the Workable tokens) is not mounted")
        if "CALLBACK_TIMEOUT" not in e and token_secret in mounted:
            problem(where, f"mounts {token_secret}: only the worker needs the Workable tokens")

        def selects(sel):
            return all(labels.get(k) == v for k, v in sel.get("matchLabels", {}).items())
        if not any(selects(p["spec"]["selector"]) for p in pdbs):
            problem(where, "no PodDisruptionBudget")
        if not any(selects(p["spec"]["podSelector"]) and p["spec"]["podSelector"] for p in netpols):
            problem(where, "no NetworkPolicy of its own")
    if not any(h["spec"]["scaleTargetRef"]["name"] == "api-gateway" for h in hpas):
        problem(name, "no HorizontalPodAutoscaler for api-gateway")
    if not any(p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} for p in netpols):
        problem(name, "no default-deny NetworkPolicy")
    print(f"{name}: {len(docs)} objects, {ncrd} Strimzi resources validated against crd-schemas/, "
          f"{len(topics)} topics, {len(deployments)} Deployments checked")


def check_compose(path):
    with open(path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    services = cfg["services"]
    for sname, s in services.items():
        where = f"docker-compose service {sname}"
        oneshot = s.get("restart") in ("no", False)
        if not oneshot and "healthcheck" not in s:
            problem(where, "long-running service without a healthcheck")
        deps = s.get("depends_on", {})
        if isinstance(deps, list):
            problem(where, "depends_on without conditions")
            continue
        for dep, spec in deps.items():
            cond = spec.get("condition")
            dep_oneshot = services[dep].get("restart") in ("no", False)
            want = "service_completed_successfully" if dep_oneshot else "service_healthy"
            if cond != want and not (s.get("network_mode", "").endswith(dep)):
                problem(where, f"depends_on {dep}: condition {cond}, want {want}")
    print(f"docker-compose: {len(services)} services, health checks and depends_on conditions checked")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("k8s", "compose"):
        print(__doc__, file=sys.stderr)
        return 2
    for p in sys.argv[2:]:
        (check_k8s if sys.argv[1] == "k8s" else check_compose)(p)
    for p in problems:
        print("  FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
