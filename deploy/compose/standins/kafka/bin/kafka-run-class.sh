#!/bin/bash
# Stand-in for the Kafka distribution's kafka-run-class.sh: runs a class of the release jars with
# the same environment variables (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS,
# KAFKA_LOG4J_OPTS; tools log to stderr through config/tools-log4j.properties).
set -e
[ $# -ge 1 ] || { echo "USAGE: $0 classname [opts]" >&2; exit 1; }
base=/opt/kafka
# shellcheck disable=SC2086 # the *_OPTS variables are word lists, as in the original script
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} \
    ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
    ${KAFKA_OPTS:-} \
    ${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$base/config/tools-log4j.properties} \
    -cp "$base/libs/*" "$@"
