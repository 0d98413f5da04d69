-- Replays pre-signed pushes (one per line: path TAB body), each thread its own slice, never the same push twice.
local lines = {}
local index = 0
local step = 1

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter)
end

function init(args)
  local threads = tonumber(args[2])
  step = threads
  index = offset - 1
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
end

function request()
  index = index + step
  local line = lines[((index - 1) % #lines) + 1]
  local tab = line:find("\t", 1, true)
  local path = line:sub(1, tab - 1)
  local body = line:sub(tab + 1)
  return wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
end

function done(summary, latency, requests)
  io.stderr:write(string.format(
    "RESULT %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
