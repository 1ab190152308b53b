-- wrk script for scripts/bench.py: one request shape per run, set through the environment, and a
-- count of every response whose status is not the one the scenario expects (wrk itself only counts
-- statuses of 400 and above, which would let a 201 in a 304 scenario, or a 401, pass unseen).
--
--   BENCH_METHOD          GET, POST, PATCH...
--   BENCH_PATHS           comma-separated paths, taken in turn
--   BENCH_HEADERS         "Name: value" lines separated by newlines
--   BENCH_BODY            request body, if any
--   BENCH_EXPECT          the expected status (200, 201, 304...)
--   BENCH_REFRESH_TOKENS  comma-separated refresh tokens, shared out between the threads; each is used
--                         once and replaced by the one its response carries (tokens rotate on refresh)
--   BENCH_THREADS         wrk's -t, to share the tokens out

local method = os.getenv("BENCH_METHOD") or "GET"
local expected = tonumber(os.getenv("BENCH_EXPECT") or "200")
local body = os.getenv("BENCH_BODY")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local refresh_tokens = os.getenv("BENCH_REFRESH_TOKENS")

local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "/", "[^,]+") do
  paths[#paths + 1] = path
end

local headers = {}
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    headers[name] = value
  end
end

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  sent = 0
  tokens = {}
  if refresh_tokens then
    local position = 0
    for token in string.gmatch(refresh_tokens, "[^,]+") do
      if position % thread_count == index then
        tokens[#tokens + 1] = token
      end
      position = position + 1
    end
  end
end

function request()
  sent = sent + 1
  local path = paths[(sent % #paths) + 1]
  local request_body = body
  if refresh_tokens then
    -- an exhausted pool sends an empty token, which the service refuses and this script counts
    request_body = '{"refresh": "' .. (table.remove(tokens) or "") .. '"}'
  end
  return wrk.format(method, path, headers, request_body)
end

function response(status, response_headers, response_body)
  if status ~= expected then
    unexpected = unexpected + 1
  elseif refresh_tokens then
    local token = response_body:match('"refresh"%s*:%s*"([^"]+)"')
    if token then
      table.insert(tokens, token)
    end
  end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + (thread:get("unexpected") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "unexpected_status": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "mean_us": %.1f, "p50_us": %d, '
      .. '"p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, unexpected_total, errors.connect, errors.read, errors.write,
    errors.timeout, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max
  ))
end
