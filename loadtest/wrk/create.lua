-- wrk script of make bench's create: POSTs a new item per request, SKU unique per run, thread
-- and count. Arguments after `--`: the bearer token ("" for none) and the run's SKU prefix.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  token = args[1] or ""
  prefix = args[2] or "wrk"
  count = 0
end

function request()
  count = count + 1
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  local body = string.format(
    '{"sku":"%s-%d-%d","name":"Bench item","description":null,"price_cents":100,"currency":"EUR","stock":1}',
    prefix, tid, count)
  return wrk.format("POST", nil, headers, body)
end
