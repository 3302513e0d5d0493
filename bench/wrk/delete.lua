-- DELETE /customers/{id}, each request a distinct seeded customer. The store holds BENCH_N
-- customers named BENCH_PREFIX..0 … BENCH_N-1; this run deletes the permutation's entries
-- BENCH_FROM … BENCH_FROM+BENCH_COUNT-1, split between BENCH_THREADS threads.
-- A thread stops once every DELETE of its share has been answered, and leaves a file named after
-- it in BENCH_MARK_DIR, so that run.sh can end wrk as soon as every thread is done. Until then,
-- its connections that have no DELETE left to send ask for GET BENCH_FILLER_PATH (a route that
-- answers 200, told apart from the DELETEs' 204 or error by its status; at most one per
-- connection at a time, counted in wrk's figures).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")

local prefix = os.getenv("BENCH_PREFIX") or "bdel_"
local n = bench.env_number("BENCH_N")
local from = bench.env_number("BENCH_FROM", 0)
local count = bench.env_number("BENCH_COUNT")
local threads = bench.env_number("BENCH_THREADS")
local mark_dir = os.getenv("BENCH_MARK_DIR")
local filler = os.getenv("BENCH_FILLER_PATH") or "/_mock/health"
local headers = { ["Authorization"] = bench.auth }

bench.threads = {}
function setup(thread)
  thread:set("thread_index", #bench.threads)
  table.insert(bench.threads, thread)
end

local sent, share, finished = 0, 0, false
answered = 0  -- global: done() adds them up (the filler GETs are left out)

function init(args)
  -- Entries k = from + thread_index + threads * i, for i = 0, 1, … while k < from + count.
  share = math.max(0, math.floor((count - thread_index + threads - 1) / threads))
  t_start = bench.now()
end

local function path_of(i)
  local k = from + thread_index + threads * i
  return "/customers/" .. prefix .. string.format("%d", (k * bench.prime) % n)
end

-- wrk calls thread 0's request() once before the run, to inspect what it builds, and never sends
-- that request; so every thread's first answer is a filler, not a DELETE that would be lost.
local primed = false

function request()
  if not primed then
    primed = true
    return wrk.format("GET", filler, headers)
  end
  if sent < share then
    sent = sent + 1
    return wrk.format("DELETE", path_of(sent - 1), headers)
  end
  return wrk.format("GET", filler, headers)
end

function response(status, headers, body)
  if status ~= 200 then
    answered = answered + 1
  end
  if answered >= share and not finished then
    finished = true
    t_end = bench.now()
    if mark_dir then
      local mark = io.open(mark_dir .. "/" .. thread_index, "w")
      mark:write(string.format("%.6f\n", t_end))
      mark:close()
    end
    wrk.thread:stop()
  end
end
