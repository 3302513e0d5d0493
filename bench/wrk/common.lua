-- Shared by the benchmark's wrk scripts (loaded with dofile; BENCH_DIR is set by run.sh).
-- Prints one machine-readable line at the end of a run: the figures run.sh records.

bench = {}

bench.auth = "Bearer " .. (os.getenv("BENCH_KEY") or "sk_test_bench")

-- Ids are a prefix and a number. A multiplicative permutation by a prime larger than any store
-- spreads consecutive requests over the whole key range, so that no target is helped by
-- locality, and still visits each number exactly once.
bench.prime = 1000003

function bench.env_number(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    if default == nil then error("missing env " .. name) end
    return default
  end
  return tonumber(value)
end

-- Wall-clock seconds (wrk's Lua has no sub-second clock of its own).
function bench.now()
  local pipe = io.popen("date +%s.%N")
  local now = tonumber(pipe:read("*l"))
  pipe:close()
  return now
end

-- A script whose threads stop on their own (a fixed amount of work) keeps its threads here and
-- has each set t_start and t_end; its rate is then requests over that span, not over wrk's -d.
bench.threads = nil

local function elapsed_us(summary)
  if bench.threads == nil then return summary.duration end
  local first, last = nil, nil
  for _, thread in ipairs(bench.threads) do
    local t0 = tonumber(thread:get("t_start"))
    local t1 = tonumber(thread:get("t_end"))
    if t0 == nil then return summary.duration end
    if t1 == nil then t1 = t0 + summary.duration / 1e6 end
    if first == nil or t0 < first then first = t0 end
    if last == nil or t1 > last then last = t1 end
  end
  return (last - first) * 1e6
end

function done(summary, latency, requests)
  local errors = summary.errors
  local duration = elapsed_us(summary)
  local count = summary.requests
  if bench.threads ~= nil then
    count = 0
    for _, thread in ipairs(bench.threads) do
      count = count + (tonumber(thread:get("answered")) or 0)
    end
  end
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_s\":%.6f,\"rps\":%.2f,\"p50_ms\":%.3f,\"p90_ms\":%.3f," ..
    "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"non2xx\":%d,\"socket_errors\":%d}\n",
    count, duration / 1e6, count / (duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
