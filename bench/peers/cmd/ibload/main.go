// ibload: bulk and constant-rate producer of interviews.requested / .status / .state records for
// bench/run (franz-go; its default partitioner hashes keys with murmur2 like the Java client, so
// an interview's requested and status events share a partition number).
//
//	ibload requested -n N [-from F] -prefix P -tenant T -sink http://127.0.0.1:PORT
//	ibload status    -n N [-from F] -prefix P [-rate R] [-warmup W]
//	ibload state     -n N [-from F] -prefix P -tenant T -sink URL   (interviews.state records:
//	                 the completed status event with tenant and callback_url, as the worker writes)
//	ibload topics    -brokers B NAME[:PARTITIONS[:POLICY]] ...   (creates them; 6 partitions and
//	                 the broker's cleanup.policy by default)
//	ibload ackrtt    -topic T -n N -rate R -size S   (the acknowledgement round trip, below)
//	ibload commit    -brokers B -group G TOPIC ...   (G's offsets set to the ends of the topics)
//
// Interview ids are P (8 hex) followed by the index in 24 hex digits. A status event's
// results_url carries its intended send time (Unix ns, from the constant-rate schedule, so a late
// send still counts from when it was due): https://bench.invalid/t/<ns>; the sink computes
// event-to-2xx latency from it. The first W events (-warmup) carry https://bench.invalid/w/<ns>
// instead: delivered and counted like the others, but no latency sample (a warm-up).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func topics(args []string) {
	fs := flag.NewFlagSet("topics", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:23092", "bootstrap servers")
	_ = fs.Parse(args)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	names := make([]string, 0, len(fs.Args()))
	for _, a := range fs.Args() {
		// NAME[:PARTITIONS[:CLEANUP_POLICY]]: topic names never hold ':'.
		f := strings.Split(a, ":")
		name, parts := f[0], int32(6)
		if len(f) > 1 {
			var p int
			fmt.Sscanf(f[1], "%d", &p)
			parts = int32(p)
		}
		var configs map[string]*string
		if len(f) > 2 {
			configs = map[string]*string{"cleanup.policy": &f[2]}
		}
		names = append(names, name)
		res, err := adm.CreateTopic(context.Background(), parts, 1, configs, name)
		if err == nil {
			err = res.Err
		}
		if err != nil && !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
			fmt.Fprintln(os.Stderr, name, err)
			os.Exit(1)
		}
	}
	// Created is not yet visible: wait until the metadata shows every topic with its
	// partitions, so that a service started next finds them.
	deadline := time.Now().Add(60 * time.Second)
	for {
		details, err := adm.ListTopics(context.Background(), names...)
		ready := err == nil
		for _, n := range names {
			d, ok := details[n]
			if !ok || d.Err != nil || len(d.Partitions) == 0 {
				ready = false
			}
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "topics not visible in the metadata after 60 s:", names, err)
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ackrtt: the broker's acknowledgement round trip as a gateway's POST meets it when idle: one
// record of S bytes at a time (acks=all, idempotent, no linger), each sent when the previous one
// was acknowledged and no earlier than its slot of the constant rate R; prints the p50 and p99 of
// produce-to-acknowledgement in microseconds.
func ackrtt(args []string) {
	fs := flag.NewFlagSet("ackrtt", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:23092", "bootstrap servers")
	topic := fs.String("topic", "", "topic")
	n := fs.Int("n", 1000, "records")
	rate := fs.Float64("rate", 100, "records per second")
	size := fs.Int("size", 400, "value bytes")
	_ = fs.Parse(args)
	if *n < 1 || *rate <= 0 || *topic == "" {
		fmt.Fprintln(os.Stderr, "ackrtt: -topic, -n >= 1 and -rate > 0 are required")
		os.Exit(2)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.DefaultProduceTopic(*topic), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cl.Close()
	ctx := context.Background()
	value := []byte(strings.Repeat("x", *size))
	// one unmeasured record: metadata, the connection and the producer id
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("warm"), Value: value}).FirstErr(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rtts := make([]float64, 0, *n)
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		due := t0.Add(time.Duration(float64(i) / *rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		key := []byte(fmt.Sprintf("k%024x", i))
		start := time.Now()
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: key, Value: value}).FirstErr(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rtts = append(rtts, float64(time.Since(start).Nanoseconds())/1000)
	}
	sort.Float64s(rtts)
	q := func(p float64) float64 { return rtts[int(p*float64(len(rtts)-1))] }
	fmt.Printf("ackrtt: n=%d p50_us=%.1f p99_us=%.1f\n", len(rtts), q(0.5), q(0.99))
}

// commit: the group's committed offsets set to the end of every partition of the topics, as a
// group that has consumed everything leaves them (a restart then resumes at the end).
func commit(args []string) {
	fs := flag.NewFlagSet("commit", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:23092", "bootstrap servers")
	group := fs.String("group", "", "consumer group")
	_ = fs.Parse(args)
	if *group == "" || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "commit: -group and at least one topic are required")
		os.Exit(2)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	ends, err := adm.ListEndOffsets(ctx, fs.Args()...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "end offsets:", err)
		os.Exit(1)
	}
	resp, err := adm.CommitOffsets(ctx, *group, ends.Offsets())
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "commit:", err)
		os.Exit(1)
	}
	fmt.Printf("commit: group %s at the end of %s\n", *group, strings.Join(fs.Args(), ", "))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ibload requested|status|state [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	if mode == "topics" {
		topics(os.Args[2:])
		return
	}
	if mode == "ackrtt" {
		ackrtt(os.Args[2:])
		return
	}
	if mode == "commit" {
		commit(os.Args[2:])
		return
	}
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:23092", "bootstrap servers")
	topic := fs.String("topic", "", "topic [interviews.requested | interviews.status]")
	n := fs.Int("n", 1000, "events")
	from := fs.Int("from", 0, "first index")
	prefix := fs.String("prefix", "b0000000", "8 hex chars")
	tenant := fs.String("tenant", "bench", "tenant id")
	sink := fs.String("sink", "http://127.0.0.1:23180", "callback base URL")
	rate := fs.Float64("rate", 0, "events per second (0: as fast as possible)")
	warmup := fs.Int("warmup", 0, "leading status events without a latency sample (results_url .../w/<ns>)")
	_ = fs.Parse(os.Args[2:])
	if *topic == "" {
		*topic = "interviews." + mode
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.DefaultProduceTopic(*topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100000))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cl.Close()
	ctx := context.Background()
	var failed atomic.Int64
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.Add(1)
		}
	}
	t0 := time.Now()
	for i := *from; i < *from+*n; i++ {
		id := fmt.Sprintf("%s%024x", *prefix, i)
		var v string
		switch mode {
		case "requested":
			v = fmt.Sprintf(`{"interview_id":"%s","tenant":"%s","interview_template_id":"12345","job_id":"6789","job_title":"Operations Manager","callback_url":"%s/interviews/%s","candidate":{"first_name":"Lakita","last_name":"Marrero","email":"lakita_marrero@gmail.com","phone":"(785)991-6256"},"preferences":{"key":"value"},"requested_at":"%s"}`,
				id, *tenant, *sink, id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
		case "status", "state":
			due := time.Now()
			if *rate > 0 {
				due = t0.Add(time.Duration(float64(i-*from) / *rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			mark := "t"
			if i-*from < *warmup {
				mark = "w"
			}
			v = fmt.Sprintf(`{"interview_id":"%s","status":"completed","occurred_at":"%s","results_url":"https://bench.invalid/%s/%d","interview":{"score":78,"grade":"excelled","summary":"This candidate is an excellent prospect.","details":{"behavior":{"Influence":97,"conscientiousness":76},"mental_skills":{"Problem Solving":82,"Aptitude":91}},"duration":"01:01:17"},"attachments":[{"description":"Interview Report","url":"https://acme.com/interviews/2044922/report.pdf"}],"shared_link":{"url":"https://acme.com/interviews/2044922/link","ttl":120,"ttl_units":"minutes"}}`,
				id, due.UTC().Format("2006-01-02T15:04:05.000Z"), mark, due.UnixNano())
			if mode == "state" {
				// The changelog record the worker writes for it: the event with its owner.
				v = v[:len(v)-1] + fmt.Sprintf(`,"tenant":"%s","callback_url":"%s/interviews/%s"}`, *tenant, *sink, id)
			}
		default:
			fmt.Fprintln(os.Stderr, "unknown mode", mode)
			os.Exit(2)
		}
		cl.Produce(ctx, &kgo.Record{Key: []byte(id), Value: []byte(v)}, done)
	}
	if err := cl.Flush(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	el := time.Since(t0).Seconds()
	fmt.Printf("%s: %d events in %.2f s (%.0f/s), %d failed\n", mode, *n, el, float64(*n)/el, failed.Load())
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
