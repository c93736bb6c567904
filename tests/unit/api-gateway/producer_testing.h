/* Fault injection into api-gateway/src/producer.c, for unit tests only. The definitions exist
 * only when producer.c is compiled with GW_TESTING (the object library gw_producer_testing of
 * tests/unit/api-gateway/CMakeLists.txt); the api-gateway binary has none of them. */
#ifndef GW_PRODUCER_TESTING_H
#define GW_PRODUCER_TESTING_H

#include "ib/common.h"
#include "producer.h"

/* Raises a fatal error on the current librdkafka instance (rd_kafka_test_fatal_error,
 * OUT_OF_ORDER_SEQUENCE_NUMBER), as librdkafka 2.0.2's idempotent producer does under broker
 * faults; the poll thread then rebuilds the instance. IB_ERR when librdkafka refused. */
ib_rc_t gw_producer_test_fatal(gw_producer_t *p) IB_WUR;
/* The current instance's value of the librdkafka property name, written into buf. */
ib_rc_t gw_producer_test_conf_get(gw_producer_t *p, const char *name, char *buf,
                                  size_t size) IB_WUR;

#endif
