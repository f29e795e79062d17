-- (4) POST /api/token/refresh, each request with a fresh refresh token: every answer's
-- successor goes back into the thread's queue, so no token is presented twice. Each thread
-- starts with its own share of the sessions seeded in BENCH_TOKENS (one token per line).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(os.getenv("BENCH_THREADS"))
  queue = {}
  local line_number = 0
  for token in io.lines(os.getenv("BENCH_TOKENS")) do
    if line_number % count == index then
      table.insert(queue, token)
    end
    line_number = line_number + 1
  end
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
