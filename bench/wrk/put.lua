-- PUT /customers/{id} with a small body, an id drawn at random among BENCH_N seeded ones (prefix
-- BENCH_PREFIX, the GET row's customers). The name differs on every request (a per-thread
-- counter), so that every PUT is an edit that changes something: orb-mock emits
-- customer.edited only then, and this row is meant to pay for the event.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")

local prefix = os.getenv("BENCH_PREFIX") or "bget_"
local n = bench.env_number("BENCH_N")
local headers = { ["Authorization"] = bench.auth, ["Accept"] = "application/json",
                  ["Content-Type"] = "application/json" }

local seeded = 0
function setup(thread)
  seeded = seeded + 1
  thread:set("thread_seed", seeded)
end

local sent = 0
function init(args)
  math.randomseed(os.time() * 1000 + (thread_seed or 0))
end

function request()
  sent = sent + 1
  return wrk.format("PUT", "/customers/" .. prefix .. math.random(0, n - 1), headers,
    string.format('{"name":"Renamed %d-%d"}', thread_seed or 0, sent))
end
