#!/bin/bash
# Stand-in for the Kafka distribution's kafka-console-producer.sh (same class, same arguments).
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.ConsoleProducer "$@"
