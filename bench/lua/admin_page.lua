-- The admin site's account list, rendered on the server for a signed-in superuser.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
wrk.headers["Cookie"] = "latchkey_access=" .. os.getenv("BENCH_ADMIN_ACCESS")
wrk.headers["Accept"] = "text/html"
