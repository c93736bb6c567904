"""Constants of the benchmarks (request bodies, tokens), the ports, and the counts of each mode."""

import dataclasses
import json

TOKEN = "bench-token"
WORKABLE_TOKEN = "bench-workable-token"
SECRET = "bench-secret"
TENANT = "bench"
# Pinning (taskset): CPU 0 = broker, load generator, sink; CPU 1 = the system under test.
CPU_BROKER, CPU_SUT, CPU_LOAD = "0", "1", "0"

# The contract's example POST /interviews body (tests/integration/harness.py), callback_url varied.
POST_BODY = {
    "interview_template_id": "12345", "job_id": "6789", "job_title": "Operations Manager",
    "callback_url": "https://groove-tech.workable.com/interviews/8823119",
    "candidate": {"first_name": "Lakita", "last_name": "Marrero", "phone": "(785)991-6256",
                  "email": "lakita_marrero@gmail.com"},
    "preferences": {"key": "value"},
}
CATALOG = {"interview_templates": [{"id": "12345", "name": "Operations Manager Interview"},
                                   {"id": "2", "name": "Java Interview"}],
           "jobs": [{"id": "6789", "name": "Operations Manager"}]}
# What the worker PUTs for ibload's status event (the sink ceiling's request body).
CALLBACK_BODY = json.dumps({
    "status": "completed", "results_url": "https://acme.com/interviews/2044922",
    "interview": {"score": "78", "grade": "excelled",
                  "summary": "This candidate is an excellent prospect.",
                  "details": {"behavior": {"Influence": 97, "conscientiousness": 76},
                              "mental_skills": {"Problem Solving": 82, "Aptitude": 91}},
                  "duration": "01:01:17"},
    "attachments": [{"description": "Interview Report",
                     "url": "https://acme.com/interviews/2044922/report.pdf"}]},
    separators=(",", ":"))
# Size of a status event as ConsumerPerformance's record size.
STATUS_SIZE = 640

# The parts of a measuring run, in the order they run.
PARTS = ("gateway", "rss256", "worker", "catchup", "limits", "profile")


@dataclasses.dataclass(frozen=True)
class Ports:
    """Every port of a run. The defaults sit below the ephemeral range (32768-60999 here), so a
    client socket of the load generator can never hold one of them when a server starts; the
    smoke uses another base (bench/run --smoke) so it never meets a measuring run."""
    kafka: int
    gateway: int
    worker: int
    benthos: int
    nginx: int
    sink: int
    sink_tls: int  # nginx terminating TLS in front of the sink
    gateway_ops: int  # our gateway's operations listener (/metrics)

    @staticmethod
    def from_base(base, kafka):
        return Ports(kafka=kafka, gateway=base, worker=base + 1, benthos=base + 2, nginx=base + 3,
                     sink=base + 100, sink_tls=base + 101, gateway_ops=base + 4)


@dataclasses.dataclass(frozen=True)
class Config:
    """The counts of one mode. Every figure's method in the report quotes these."""
    mode: str              # full | quick | smoke
    runs: int              # runs per figure (median of them)
    sat_secs: int          # one wrk saturation run
    warmup_secs: int       # wrk warm-up of each HTTP system before the first run
    lat_secs: int          # one vegeta constant-rate run
    rate_cap: int          # upper bound of a vegeta rate (0: none)
    settle_secs: float     # pause after a vegeta run (an overloaded system drains)
    backlog: int           # status events the worker drains
    drain_timeout: int
    event_rate: int        # status events/s of the worker's latency runs
    lat_secs_worker: int   # measured seconds of one worker latency run
    known: int             # interviews known to the worker's join (RSS per interview)
    rss_runs: int
    perf_records: int      # records of Kafka's ProducerPerformance / ConsumerPerformance
    catchup: int = 0       # interviews in Kafka when a fresh gateway and worker catch up
    broker_warmup_secs: int = 0  # wrk POST -c64 to our gateway before the gateway's first run
    lat_warmup_worker: int = 0  # seconds at event_rate before a worker latency run, not measured

    @staticmethod
    def of(mode):
        if mode == "full":
            return Config(mode, runs=3, sat_secs=8, warmup_secs=2, lat_secs=10, rate_cap=0,
                          settle_secs=2, backlog=100000, drain_timeout=900, event_rate=1000,
                          lat_secs_worker=30, lat_warmup_worker=5, known=1000000, rss_runs=3,
                          perf_records=1000000, catchup=1000000, broker_warmup_secs=30)
        if mode == "quick":
            return Config(mode, runs=3, sat_secs=3, warmup_secs=2, lat_secs=4, rate_cap=0,
                          settle_secs=2, backlog=20000, drain_timeout=300, event_rate=1000,
                          lat_secs_worker=20, lat_warmup_worker=3, known=100000, rss_runs=1,
                          perf_records=200000, catchup=200000, broker_warmup_secs=15)
        if mode == "smoke":
            # every part once, tiny counts: checks that everything starts and reports, measures
            # nothing worth reading
            return Config(mode, runs=1, sat_secs=1, warmup_secs=1, lat_secs=1, rate_cap=300,
                          settle_secs=0.5, backlog=300, drain_timeout=300, event_rate=200,
                          lat_secs_worker=1, lat_warmup_worker=1, known=2000, rss_runs=1, perf_records=2000,
                          catchup=2000)
        raise ValueError(f"unknown mode {mode}")

    def to_json(self):
        return dataclasses.asdict(self)

    @staticmethod
    def from_json(d):
        return Config(**d)
