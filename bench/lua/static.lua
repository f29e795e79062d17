-- (6) A static file from the same server: the ceiling.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
