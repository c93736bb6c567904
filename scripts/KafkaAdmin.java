// Admin helper for scripts/kafka, run as a single-file source program on the Kafka jars' classpath.
//   KafkaAdmin <bootstrap> create name:partitions:cleanup[:retention.ms] ...
//                                                              wait for the cluster, create topics
//   KafkaAdmin <bootstrap> check topic                         exit 0 if the topic exists
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

public class KafkaAdmin {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().nodes().get();
            if (args[1].equals("check")) {
                Set<String> names = admin.listTopics().names().get();
                System.exit(names.contains(args[2]) ? 0 : 1);
            }
            List<NewTopic> topics = new ArrayList<>();
            for (int i = 2; i < args.length; i++) {
                String[] f = args[i].split(":");
                NewTopic t = new NewTopic(f[0], Integer.parseInt(f[1]), (short) 1);
                Map<String, String> configs = new HashMap<>();
                configs.put("cleanup.policy", f[2]);
                configs.put("min.insync.replicas", "1");
                if (f.length > 3) configs.put("retention.ms", f[3]);
                t.configs(configs);
                topics.add(t);
            }
            CreateTopicsResult r = admin.createTopics(topics);
            for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e : r.values().entrySet()) {
                try {
                    e.getValue().get();
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof TopicExistsException)) throw ex;
                }
            }
            // Wait until every partition has a leader so the first produce does not race creation.
            // A topic the controller created may not be in the broker's metadata yet (longer on a
            // busy machine, or while a broker resumed after a freeze catches up): not yet, not an
            // error.
            Set<String> names = new HashSet<>();
            for (NewTopic t : topics) names.add(t.name());
            long deadline = System.currentTimeMillis() + 60000;
            while (true) {
                boolean ok = true;
                Collection<TopicDescription> described = List.of();
                try {
                    described = admin.describeTopics(names).allTopicNames().get().values();
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof UnknownTopicOrPartitionException)) throw ex;
                    ok = false;
                }
                for (TopicDescription d : described)
                    for (org.apache.kafka.common.TopicPartitionInfo pi : d.partitions())
                        if (pi.leader() == null) ok = false;
                if (ok) break;
                if (System.currentTimeMillis() > deadline) throw new RuntimeException("no leaders");
                Thread.sleep(100);
            }
        }
    }
}
