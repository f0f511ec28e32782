-- wrk script: POST /api/v1/tickets with a distinct citizen per request.
-- Needs TOKEN in the environment.
local counter = 0
local thread_no = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_no = id
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

function request()
  counter = counter + 1
  local phone = string.format("0857%d%07d", thread_no, counter % 10000000)
  local body = string.format(
    '{"subject":"Sampah menumpuk di TPS %d","body":"Sudah lima hari tidak diangkut, mohon ditindaklanjuti.",' ..
    '"channel":"phone","contact":{"name":"Warga %d","phone":"%s"}}', counter, counter, phone)
  return wrk.format(nil, "/api/v1/tickets", nil, body)
end
