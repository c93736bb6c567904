#include "ib/partition.h"

#include <librdkafka/rdkafka.h>

int32_t ib_partition_murmur2(const void *key, size_t len, int32_t partition_cnt)
{
    if (partition_cnt <= 0)
        return -1;
    /* librdkafka's murmur2 partitioner (the one behind "murmur2" and "murmur2_random" with a key)
     * looks at neither the topic nor the opaques; its equality with the Java client's is
     * checked on Kafka's own vectors in tests/unit/shared/test_partition.c. */
    return rd_kafka_msg_partitioner_murmur2(NULL, key, len, partition_cnt, NULL, NULL);
}
