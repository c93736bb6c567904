#!/bin/bash
# Stand-in for the Kafka distribution's kafka-broker-api-versions.sh (same class, same arguments).
exec "$(dirname "$0")/kafka-run-class.sh" kafka.admin.BrokerApiVersionsCommand "$@"
