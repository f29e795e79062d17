-- (2) GET /api/me with a Bearer token: token check + user read (from the session cache).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_ACCESS")
