-- One INSERT per request with a fresh id: the body template in $BENCH_BODY_FILE has "{{n}}" where the
-- running number goes, starting after $BENCH_ID_BASE (run with -t 1 so ids never collide). wrk's
-- thread:stop() does not shorten its measured duration, so runs are timed (-d) and give rows/s.
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local template = f:read("*a")
f:close()
local base = tonumber(os.getenv("BENCH_ID_BASE") or "0")
local sent = 0

request = function()
  sent = sent + 1
  local body = template:gsub("{{n}}", tostring(base + sent))
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.2f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
