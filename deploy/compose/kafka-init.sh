#!/bin/bash
# One-shot (docker-compose service kafka-init, apache/kafka image): creates the topics of
# docs/DESIGN.md, like scripts/kafka does for the local broker. Idempotent (--if-not-exists).
set -euo pipefail

BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
PARTITIONS=${PARTITIONS:-6}
RF=${REPLICATION_FACTOR:-1}
MIN_ISR=${MIN_INSYNC_REPLICAS:-1}
TOPICS=${KAFKA_BIN:-/opt/kafka/bin}/kafka-topics.sh

DAYS_90=7776000000
DAYS_7=604800000

# create TOPIC PARTITIONS POLICY [RETENTION_MS]
create() {
    local topic=$1 partitions=$2 policy=$3 retention=${4:-}
    "$TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic" \
        --partitions "$partitions" --replication-factor "$RF" \
        --config cleanup.policy="$policy" --config min.insync.replicas="$MIN_ISR" \
        ${retention:+--config retention.ms="$retention"}
}

# interviews.requested, interviews.callbacks.retry, interviews.status.repartition and
# interviews.state: same partition count (the worker's co-partitioned join; status too, for the
# fast path); interviews.catalog: compacted, key = tenant id. Our topics carrying an interview's
# data: compact,delete, key = interview id, so a tombstone (scripts/erase) erases it.
# interviews.status is the platform's and takes records without a key, which a compacted topic
# refuses: delete, 7 days (the transport window); its mirror interviews.status.repartition too.
# interviews.state, the changelog of every interview's latest state: compact, no time retention.
create "${TOPIC_REQUESTED:-interviews.requested}" "$PARTITIONS" compact,delete "$DAYS_90"
create "${TOPIC_STATUS:-interviews.status}" "$PARTITIONS" delete "$DAYS_7"
create "${TOPIC_CATALOG:-interviews.catalog}" 3 compact
create "${TOPIC_RETRY:-interviews.callbacks.retry}" "$PARTITIONS" compact,delete "$DAYS_7"
create "${TOPIC_DLQ:-interviews.callbacks.dlq}" 3 compact,delete "$DAYS_90"
create "${TOPIC_STATUS_REPARTITION:-interviews.status.repartition}" "$PARTITIONS" delete "$DAYS_7"
create "${TOPIC_STATE:-interviews.state}" "$PARTITIONS" compact
"$TOPICS" --bootstrap-server "$BOOTSTRAP" --describe --exclude-internal | grep -v '^\s*Topic: .*Partition:' || true
