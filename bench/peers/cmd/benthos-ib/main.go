// benthos-ib: Benthos v4 core (MIT) with interview-bridge's small franz-go Kafka plugins, the peer
// that bench/run measures our two services against (same broker, same load, same run).
//
//	ib_kafka_sync output: one record per message, produced idempotently with acks=all; Write
//	    returns only after the broker acknowledged, so http_server's sync response (201) follows
//	    Kafka's acknowledgement exactly like the api-gateway's.
//	ib_kafka_join input: reads the requested topic from the beginning (the join, like the
//	    results-worker rebuilds it) and, once caught up to the end offsets seen at connect,
//	    consumes the status topic in a consumer group; a status offset is committed only after
//	    the message (the callback PUT) was acknowledged, in order per partition.
package main

import (
	"context"
	"strings"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

func main() {
	must(service.RegisterOutput("ib_kafka_sync", service.NewConfigSpec().
		Field(service.NewStringListField("brokers")).
		Field(service.NewStringField("topic")).
		Field(service.NewInterpolatedStringField("key")).
		Field(service.NewStringField("header_prefix").Default("ce_")),
		newSyncOutput))
	must(service.RegisterInput("ib_kafka_join", service.NewConfigSpec().
		Field(service.NewStringListField("brokers")).
		Field(service.NewStringField("requested_topic")).
		Field(service.NewStringField("status_topic")).
		Field(service.NewStringField("group")),
		newJoinInput))
	service.RunCLI(context.Background())
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// ---- output ----

type syncOutput struct {
	brokers []string
	topic   string
	key     *service.InterpolatedString
	prefix  string
	cl      *kgo.Client
}

func newSyncOutput(conf *service.ParsedConfig, mgr *service.Resources) (service.Output, int, error) {
	o := &syncOutput{}
	var err error
	if o.brokers, err = conf.FieldStringList("brokers"); err != nil {
		return nil, 0, err
	}
	if o.topic, err = conf.FieldString("topic"); err != nil {
		return nil, 0, err
	}
	if o.key, err = conf.FieldInterpolatedString("key"); err != nil {
		return nil, 0, err
	}
	if o.prefix, err = conf.FieldString("header_prefix"); err != nil {
		return nil, 0, err
	}
	return o, 1024, nil
}

func (o *syncOutput) Connect(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent producer is franz-go's default
		kgo.ProducerLinger(0),
		kgo.DefaultProduceTopic(o.topic))
	if err != nil {
		return err
	}
	o.cl = cl
	return nil
}

func (o *syncOutput) Write(ctx context.Context, msg *service.Message) error {
	b, err := msg.AsBytes()
	if err != nil {
		return err
	}
	key, err := o.key.TryString(msg)
	if err != nil {
		return err
	}
	rec := &kgo.Record{Key: []byte(key), Value: b}
	_ = msg.MetaWalk(func(k, v string) error {
		if strings.HasPrefix(k, o.prefix) || k == "content-type" {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		return nil
	})
	return o.cl.ProduceSync(ctx, rec).FirstErr()
}

func (o *syncOutput) Close(ctx context.Context) error {
	if o.cl != nil {
		o.cl.Close()
	}
	return nil
}

// ---- input ----

type item struct {
	rec    *kgo.Record
	status bool
}

// partTracker: offsets handed out in increasing order; the committed position advances over the
// acknowledged prefix only (at-least-once, like the results-worker's "offset stored after 2xx").
type partTracker struct {
	offs []int64
	done map[int64]bool
}

type joinInput struct {
	brokers           []string
	requested, status string
	group             string
	cl, gcl           *kgo.Client
	ch                chan item
	cancel            context.CancelFunc
	mu                sync.Mutex
	parts             map[int32]*partTracker
	wg                sync.WaitGroup
}

func newJoinInput(conf *service.ParsedConfig, mgr *service.Resources) (service.Input, error) {
	in := &joinInput{ch: make(chan item, 4096), parts: map[int32]*partTracker{}}
	var err error
	if in.brokers, err = conf.FieldStringList("brokers"); err != nil {
		return nil, err
	}
	if in.requested, err = conf.FieldString("requested_topic"); err != nil {
		return nil, err
	}
	if in.status, err = conf.FieldString("status_topic"); err != nil {
		return nil, err
	}
	if in.group, err = conf.FieldString("group"); err != nil {
		return nil, err
	}
	return service.AutoRetryNacks(in), nil
}

func (in *joinInput) Connect(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(in.brokers...),
		kgo.ConsumeTopics(in.requested),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, in.requested)
	if err != nil {
		cl.Close()
		return err
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	gcl, err := kgo.NewClient(kgo.SeedBrokers(in.brokers...),
		kgo.ConsumerGroup(in.group), kgo.ConsumeTopics(in.status),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) {}))
	if err != nil {
		cl.Close()
		return err
	}
	in.cl, in.gcl = cl, gcl
	rctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	caught := make(chan struct{})
	in.wg.Add(2)
	go func() { // requested: the join, from the beginning
		defer in.wg.Done()
		closed := len(want) == 0
		if closed {
			close(caught)
		}
		for {
			fs := cl.PollFetches(rctx)
			if rctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				select {
				case in.ch <- item{rec: r}:
				case <-rctx.Done():
				}
				if !closed && want[r.Partition] > 0 && r.Offset+1 >= want[r.Partition] {
					delete(want, r.Partition)
					if len(want) == 0 {
						closed = true
						close(caught)
					}
				}
			})
		}
	}()
	go func() { // status: gated until the join caught up
		defer in.wg.Done()
		select {
		case <-caught:
		case <-rctx.Done():
			return
		}
		for {
			fs := gcl.PollFetches(rctx)
			if rctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				in.mu.Lock()
				pt := in.parts[r.Partition]
				if pt == nil {
					pt = &partTracker{done: map[int64]bool{}}
					in.parts[r.Partition] = pt
				}
				pt.offs = append(pt.offs, r.Offset)
				in.mu.Unlock()
				select {
				case in.ch <- item{rec: r, status: true}:
				case <-rctx.Done():
				}
			})
		}
	}()
	return nil
}

func (in *joinInput) Read(ctx context.Context) (*service.Message, service.AckFunc, error) {
	var it item
	select {
	case it = <-in.ch:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	m := service.NewMessage(it.rec.Value)
	m.MetaSetMut("kafka_topic", it.rec.Topic)
	m.MetaSetMut("kafka_key", string(it.rec.Key))
	if !it.status {
		return m, func(context.Context, error) error { return nil }, nil
	}
	rec := it.rec
	return m, func(ctx context.Context, err error) error {
		if err != nil {
			return nil // AutoRetryNacks redelivers
		}
		in.mu.Lock()
		pt := in.parts[rec.Partition]
		pt.done[rec.Offset] = true
		last := int64(-1)
		for len(pt.offs) > 0 && pt.done[pt.offs[0]] {
			last = pt.offs[0]
			delete(pt.done, last)
			pt.offs = pt.offs[1:]
		}
		in.mu.Unlock()
		if last >= 0 { // everything up to last is delivered: commit last+1
			c := *rec
			c.Offset = last
			in.gcl.MarkCommitRecords(&c)
		}
		return nil
	}, nil
}

func (in *joinInput) Close(ctx context.Context) error {
	if in.cancel != nil {
		in.cancel()
	}
	if in.gcl != nil {
		_ = in.gcl.CommitMarkedOffsets(ctx)
		in.gcl.Close()
	}
	if in.cl != nil {
		in.cl.Close()
	}
	in.wg.Wait()
	return nil
}
