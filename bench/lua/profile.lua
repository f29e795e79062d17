-- (3) GET /profile rendered on the server for a signed-in browser.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
wrk.headers["Cookie"] = "latchkey_access=" .. os.getenv("BENCH_ACCESS")
wrk.headers["Accept"] = "text/html"
