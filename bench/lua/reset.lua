-- POST /api/auth/password/reset for a random seeded address (user0000000@example.com up to
-- BENCH_USERS - 1) from a random client address, so the per-client and per-address limits
-- count real, different people (the server trusts X-Forwarded-For from loopback).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

function init(args)
  users = tonumber(os.getenv("BENCH_USERS"))
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  local body = string.format('{"email":"user%07d@example.com"}', math.random(0, users - 1))
  local client = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255),
    math.random(1, 254))
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = client,
  }, body)
end
