-- POST /customers with the two fields Orb requires; every request creates a customer.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")

wrk.method = "POST"
wrk.path = "/customers"
wrk.headers["Authorization"] = bench.auth
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench Customer","email":"bench@example.com"}'
