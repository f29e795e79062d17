-- (4) POST /api/token/refresh, each request with a fresh refresh token: every answer's
-- successor goes back into the thread's queue, so no token is presented twice. Each thread
-- starts with its own share of the sessions seeded in BENCH_TOKENS (one token per line).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")
dofile(os.getenv("BENCH_LUA") .. "/shares.lua")

function init(args)
  queue = thread_share(os.getenv("BENCH_TOKENS"))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local token = table.remove(queue, 1)
  if token == nil then
    token = "exhausted"
  end
  return wrk.format(nil, nil, nil, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  local successor = body:match('"refresh"%s*:%s*"([^"]+)"')
  if status == 200 and successor then
    table.insert(queue, successor)
  end
end
