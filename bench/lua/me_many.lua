-- GET /api/me as many signed-in people in turn: each thread walks its share of the access
-- tokens in BENCH_ACCESS_FILE (one per line, each a different session), so the session cache
-- misses once per session and then holds them all (up to SESSION_CACHE_SIZE). With
-- BENCH_ONE_PASS set, each thread stops once every one of its tokens was answered: the first
-- request of each session, a database read each.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
dofile(os.getenv("BENCH_LUA") .. "/shares.lua")

function init(args)
  tokens = thread_share(os.getenv("BENCH_ACCESS_FILE"))
  next_token = 1
  answered = 0
  one_pass = os.getenv("BENCH_ONE_PASS") ~= nil
end

function request()
  local token = tokens[next_token]
  next_token = next_token % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token }, nil)
end

function response(status, headers, body)
  answered = answered + 1
  if one_pass and answered >= #tokens then
    wrk.thread:stop()
  end
end
