-- wrk script for bench/serve_bench.sh: POST one PNG per request (raw body,
-- Content-Type image/png), rotating through the files listed in
-- $SERVE_BENCH_LIST (one path per line), on keep-alive connections.
--
--   SERVE_BENCH_LIST=pngs.txt SERVE_BENCH_PATH=/predict [SERVE_BENCH_TOKEN=...] \
--     wrk -t2 -c64 -d15s -s bench/serve_post.lua http://127.0.0.1:PORT
--
-- Every thread counts the responses whose status is not 2xx (response()),
-- and done() prints one JSON line: requests, duration, requests/s, latency
-- percentiles from wrk's own latency histogram (microseconds), socket errors
-- and the non-2xx count, with the first non-2xx status and body seen.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local requests = {}
local n = 0
local next_index = 1
non2xx = 0
first_bad = ""

function init(args)
  local list = assert(os.getenv("SERVE_BENCH_LIST"), "SERVE_BENCH_LIST is not set")
  local path = os.getenv("SERVE_BENCH_PATH") or "/predict"
  local token = os.getenv("SERVE_BENCH_TOKEN") or ""
  local headers = { ["Content-Type"] = "image/png" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  for file in io.lines(list) do
    local f = assert(io.open(file, "rb"))
    local body = f:read("*a")
    f:close()
    n = n + 1
    requests[n] = wrk.format("POST", path, headers, body)
  end
  assert(n > 0, "no files in " .. list)
  -- Threads start at different places in the list.
  next_index = ((tid or 1) - 1) * 97 % n + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % n + 1
  return r
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local fb = t:get("first_bad") or ""
    if first == "" and fb ~= "" then first = fb end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "non2xx": %d, "first_non2xx": %s, "errors": {"connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "status": %d}, "bytes": %d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, bad, json_string(first), e.connect, e.read, e.write,
    e.timeout, e.status, summary.bytes))
end
