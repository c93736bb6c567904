"""bench/lib: the pieces of the measuring step (bench/measure.py) and the report (bench/report.py).

config    constants (bodies, tokens), the ports, the per-mode counts (full, quick, smoke)
stats     Figure (the samples of one figure: median, min-max, unit, method), ratio, percentile
procs     processes we start (pinned, own session, stopped by pid), /proc CPU and RSS, waiting
loadgen   wrk, vegeta and bench/ibload
systems   the systems under test and their peers: api-gateway, results-worker, Benthos, nginx, sink
profiles  perf record / perf report
facts     the machine and the versions
results   one run's results: figures, values, profiles, failures, log; JSON in and out
"""
