-- POST /v1/burns from wrk (bench/burn_load.py runs it): each connection sends its next burn as
-- soon as the last is answered, every burn with a new idempotency key, the accounts acct0.. spread
-- evenly. Arguments after `--`: run tag, API token, number of accounts.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  tag = args[1] or "run"
  token = args[2] or ""
  accounts = tonumber(args[3] or "1000")
  n = 0
  bad = 0
end
function request()
  n = n + 1
  local account = (n * 7919 + id * 104729) % accounts
  local body = string.format(
    '{"account_id":"acct%d","action":"query","units":1,"occurred_at":"2026-01-01T00:%02d:%02dZ"}',
    account, math.floor(n / 60) % 60, n % 60)
  return wrk.format("POST", "/v1/burns", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("%s-%d-%d", tag, id, n),
  }, body)
end
function response(status)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local refused = 0
  for _, t in ipairs(threads) do refused = refused + t:get("bad") end
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f\n", summary.requests, refused,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
