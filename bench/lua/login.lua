-- (5) POST /api/token: a log-in, bound by argon2.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"' .. os.getenv("BENCH_USER") .. '","password":"' ..
  os.getenv("BENCH_PASSWORD") .. '"}'
