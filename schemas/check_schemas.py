#!/usr/bin/env python3
"""Checks the event schemas: each against the draft 2020-12 metaschema, every example in
schemas/examples/<schema>/ (valid-*.json must pass, invalid-*.json must fail), and the demo events
the services accept (deploy/demo: catalog.json, status-*.json). Also importable: validator(name)
returns a validator with date-time checked by the schemas' own RFC 3339 pattern (no format
packages needed), used by tests/integration/test_schemas.py.

    python3 schemas/check_schemas.py          (scripts/check-deploy runs it)
"""
import glob
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NAMES = ("interview.requested", "interview.status", "interview.state", "interview.catalog",
         "callbacks.retry", "callbacks.dlq", "cloudevents-headers")
# The demo events the services accept (deploy/demo), and the schema each must match.
DEMO = {"interview.catalog": ["deploy/demo/catalog.json"],
        "interview.status": sorted(os.path.relpath(p, ROOT) for p in
                                   glob.glob(os.path.join(ROOT, "deploy/demo/status-*.json")))}


def load(name):
    with open(os.path.join(HERE, name + ".schema.json"), encoding="utf-8") as f:
        return json.load(f)


def store():
    """Every schema of schemas/ by its $id: a $ref from one to another (interview.state's to
    interview.status's) is resolved here, never fetched."""
    out = {}
    for p in sorted(glob.glob(os.path.join(HERE, "*.schema.json"))):
        with open(p, encoding="utf-8") as f:
            schema = json.load(f)
        out[schema["$id"]] = schema
    return out


def validator(name):
    schema = load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    try:
        from referencing import Registry, Resource
    except ImportError:  # jsonschema before 4.18 (Debian 12's 4.10)
        resolver = jsonschema.RefResolver.from_schema(schema, store=store())
        return jsonschema.Draft202012Validator(schema, resolver=resolver)
    registry = Registry().with_resources(
        (uri, Resource.from_contents(s)) for uri, s in store().items())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def errors(v, instance):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in v.iter_errors(instance)]


def main():
    problems = []
    counts = {"schemas": 0, "valid": 0, "invalid": 0, "demo": 0}
    for name in NAMES:
        try:
            v = validator(name)
        except (jsonschema.SchemaError, ValueError) as e:
            problems.append(f"{name}.schema.json: not a valid draft 2020-12 schema: {e}")
            continue
        counts["schemas"] += 1
        examples = sorted(glob.glob(os.path.join(HERE, "examples", name, "*.json")))
        if not any(os.path.basename(p).startswith("valid") for p in examples):
            problems.append(f"{name}: no valid example in schemas/examples/{name}/")
        for p in examples:
            with open(p, encoding="utf-8") as f:
                inst = json.load(f)
            errs = errors(v, inst)
            rel = os.path.relpath(p, ROOT)
            if os.path.basename(p).startswith("valid"):
                counts["valid"] += 1
                problems += [f"{rel}: {e}" for e in errs]
            else:
                counts["invalid"] += 1
                if not errs:
                    problems.append(f"{rel}: accepted, but it is an invalid example")
        for rel in DEMO.get(name, []):
            with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
                inst = json.load(f)
            if name == "interview.status":  # scripts/publish-status fills in the id
                inst["interview_id"] = "3f1c0a9e5b7d4c21a8e6f0b2d4c6e8a1"
            counts["demo"] += 1
            problems += [f"{rel}: {e}" for e in errors(v, inst)]
    problems += check_asyncapi(counts)
    print(f"JSON Schemas (draft 2020-12): {counts['schemas']} schemas valid, {counts['valid']} valid "
          f"examples pass, {counts['invalid']} invalid examples rejected, {counts['demo']} deploy/demo "
          f"events pass, {counts['asyncapi']} AsyncAPI message examples pass, AsyncAPI topic bindings "
          f"match deploy/k8s (jsonschema {jsonschema_version()})")
    for p in problems:
        print("  FAIL " + p)
    return 1 if problems else 0


def check_asyncapi(counts):
    """The AsyncAPI parser does not validate message examples against $ref'd payload schemas:
    done here. And its Kafka topic bindings must agree with the KafkaTopic resources."""
    import yaml
    problems = []
    counts["asyncapi"] = 0
    doc_path = os.path.join(ROOT, "docs/events/asyncapi.yaml")
    with open(doc_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    refs = set()
    for mname, m in doc["components"]["messages"].items():
        for part, key in (("payload", "schema"), ("headers", None)):
            node = m.get(part)
            if node is None:
                continue
            ref = (node[key] if key else node)["$ref"]
            refs.add(os.path.basename(ref))
            v = validator(os.path.basename(ref)[: -len(".schema.json")])
            for ex in m.get("examples", []):
                if part in ex:
                    counts["asyncapi"] += part == "payload"
                    problems += [f"asyncapi.yaml {mname} example {ex.get('name')} {part}: {e}"
                                 for e in errors(v, ex[part])]
    for name in NAMES:
        if name + ".schema.json" not in refs:
            problems.append(f"asyncapi.yaml references no {name}.schema.json")
    with open(os.path.join(ROOT, "deploy/k8s/base/kafka/topics.yaml"), encoding="utf-8") as f:
        topics = {t["spec"]["topicName"]: t["spec"] for t in yaml.safe_load_all(f) if t}
    for cname, ch in doc["channels"].items():
        b = ch.get("bindings", {}).get("kafka", {})
        t = topics.get(ch["address"])
        if t is None:
            problems.append(f"asyncapi.yaml channel {cname}: no KafkaTopic {ch['address']}")
            continue
        for k in ("partitions", "replicas"):
            if b.get(k) != t.get(k):
                problems.append(f"asyncapi.yaml channel {cname}: {k} {b.get(k)} != KafkaTopic's {t.get(k)}")
        pol = b.get("topicConfiguration", {}).get("cleanup.policy")
        if pol != t.get("config", {}).get("cleanup.policy", "delete").split(","):
            problems.append(f"asyncapi.yaml channel {cname}: cleanup.policy {pol} != KafkaTopic's")
    return problems


def jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # pragma: no cover
        return "?"


if __name__ == "__main__":
    sys.exit(main())
