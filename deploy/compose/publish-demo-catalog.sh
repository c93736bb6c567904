#!/bin/bash
# One-shot (docker-compose service demo-catalog, apache/kafka image): publishes the demo
# tenant's catalog (deploy/demo/catalog.json, mounted at /demo) to the compacted catalog topic,
# key = tenant id. Same effect as `scripts/publish-catalog groove-tech deploy/demo/catalog.json`.
set -euo pipefail

BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
TENANT=${DEMO_TENANT:-groove-tech}
FILE=${CATALOG_FILE:-/demo/catalog.json}
TOPIC=${TOPIC_CATALOG:-interviews.catalog}

# One record per line for the console producer: the file must not hold newlines inside
# strings (the demo file does not), so joining its lines keeps it the same JSON.
value=$(tr -d '\r\n' <"$FILE")
printf '%s\t%s\n' "$TENANT" "$value" |
    "${KAFKA_BIN:-/opt/kafka/bin}/kafka-console-producer.sh" --bootstrap-server "$BOOTSTRAP" --topic "$TOPIC" \
        --producer-property acks=all \
        --property parse.key=true --property key.separator=$'\t'
echo "published the catalog of $TENANT to $TOPIC"
