-- A page rendered on the server for a visitor who is not signed in (/login, /signup).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
wrk.headers["Accept"] = "text/html"
