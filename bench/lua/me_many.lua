-- GET /api/me as many signed-in people in turn: each thread walks its share of the access
-- tokens in BENCH_ACCESS_FILE (one per line, each a different session), so the session cache
-- misses once per session and then holds them all (up to SESSION_CACHE_SIZE).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
dofile(os.getenv("BENCH_LUA") .. "/shares.lua")

function init(args)
  tokens = thread_share(os.getenv("BENCH_ACCESS_FILE"))
  next_token = 1
end

function request()
  local token = tokens[next_token]
  next_token = next_token % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token }, nil)
end

