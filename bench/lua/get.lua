-- wrk script: GET with the Bearer token (GET /interview-templates), summary line for bench/run.
local token = os.getenv("BENCH_TOKEN") or "bench-token"
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. token
end
function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d errors_connect=%d errors_timeout=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.timeout))
  io.write(string.format("BENCH p50_us=%d p99_us=%d p999_us=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
