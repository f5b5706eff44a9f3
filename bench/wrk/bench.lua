-- wrk script of workstream-bench (bench/src/http.rs).
--
-- Paces each connection with a fixed think time (WRK_DELAY_MS) so that the request
-- rate stays near the one asked for, and, when WRK_REQUESTS names a file, sends its
-- requests in order, one per line: method, path, idempotency key, authorization and
-- JSON body, separated by tabs (each submission needs a task and an admission of its own). At
-- the end it prints one JSON line of counts and latency percentiles (microseconds).

local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
local requests = {}
local next_request = 1

local file = os.getenv("WRK_REQUESTS")
if file and file ~= "" then
  for line in io.lines(file) do
    local method, path, key, auth, body =
      line:match("^(%u+)\t([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
    requests[#requests + 1] = { method = method, path = path, key = key, auth = auth, body = body }
  end
end

function delay()
  return delay_ms
end

function request()
  if #requests == 0 then
    return wrk.request()
  end
  -- Past the end the last request repeats; its idempotent replay answers 201 again,
  -- and the Rust side checks how many distinct submissions were recorded.
  local r = requests[math.min(next_request, #requests)]
  next_request = next_request + 1
  wrk.headers["Idempotency-Key"] = r.key
  wrk.headers["Authorization"] = r.auth
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format(r.method, r.path, wrk.headers, r.body)
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
