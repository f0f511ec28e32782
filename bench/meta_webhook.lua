-- wrk script: signed Instagram webhook deliveries, each from a different citizen.
-- PAYLOADS names a file of `signature<TAB>body` lines (tanggap-bench meta-payloads); each wrk
-- thread takes every THREADS-th line from its own offset so threads never repeat each other.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("THREADS") or "2")
  requests = {}
  local i = 0
  for line in io.lines(os.getenv("PAYLOADS")) do
    if i % nthreads == id then
      local sig, body = line:match("^([^\t]+)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sig }
      table.insert(requests, wrk.format("POST", "/webhooks/instagram", headers, body))
    end
    i = i + 1
  end
  n = 0
end

function request()
  n = n + 1
  return requests[(n - 1) % #requests + 1]
end
