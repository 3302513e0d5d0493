-- GET /plans/plan_bench: a route orb-mock does not model, answered with --spec from Orb's
-- document (a generated body), as the stateless peers answer every route. One fixed path.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")

wrk.method = "GET"
wrk.path = "/plans/" .. (os.getenv("BENCH_PLAN_ID") or "plan_bench")
wrk.headers["Authorization"] = bench.auth
wrk.headers["Accept"] = "application/json"
