-- GET /customers/{id}, an id drawn at random among BENCH_N seeded ones (prefix BENCH_PREFIX).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")

local prefix = os.getenv("BENCH_PREFIX") or "bget_"
local n = bench.env_number("BENCH_N")
local headers = { ["Authorization"] = bench.auth, ["Accept"] = "application/json" }

local seeded = 0
function setup(thread)
  seeded = seeded + 1
  thread:set("thread_seed", seeded)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_seed or 0))
end

function request()
  return wrk.format("GET", "/customers/" .. prefix .. math.random(0, n - 1), headers)
end
