-- wrk script: POST /interviews with the contract's example body; callback_url differs per request
-- (a per-run stamp, the thread number and a counter), so every request of every run gets its own
-- interview id and event: the gateway's interviews view grows as it would in production.
-- Env: BENCH_TOKEN (Bearer token), BENCH_SINK (callback base URL).
local token = os.getenv("BENCH_TOKEN") or "bench-token"
local sink = os.getenv("BENCH_SINK") or "http://127.0.0.1:23180"
local counter = 0
local stamp = "" -- per run and thread, set by init()
tid = 0 -- set per thread by setup()
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  -- math.random is not seeded by wrk: without a stamp every run would repeat the same URLs
  local f = io.open("/dev/urandom", "rb")
  local seed = os.time() + tid
  if f then
    local b = f:read(4)
    f:close()
    seed = seed + b:byte(1) + 256 * (b:byte(2) + 256 * (b:byte(3) + 256 * b:byte(4)))
  end
  math.randomseed(seed)
  stamp = string.format("%x", seed)
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = '{"interview_template_id":"12345","job_id":"6789","job_title":"Operations Manager",'
    .. '"callback_url":"' .. sink .. '/interviews/w' .. tid .. '-' .. stamp .. '-' .. counter .. '",'
    .. '"candidate":{"first_name":"Lakita","last_name":"Marrero","phone":"(785)991-6256",'
    .. '"email":"lakita_marrero@gmail.com"},"preferences":{"key":"value"}}'
  return wrk.format("POST", "/interviews", nil, body)
end

-- status histogram: any non-2xx is counted by wrk as "Non-2xx"; print the total at the end
function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d errors_connect=%d errors_timeout=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.timeout))
  io.write(string.format("BENCH p50_us=%d p99_us=%d p999_us=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
