-- wrk script for bench/ingest: the same closed loop for both endpoints.
--
--   wrk -t2 -c16 -d10s -s velaux.lua http://127.0.0.1:PORT -- PATH [BODIES_FILE THREADS]
--
-- With a bodies file (one JSON body a line, as payloads.py writes them), thread i of
-- THREADS posts lines i, i + THREADS, i + 2 THREADS ... to PATH, each once. If the run
-- outlasts them it posts them again with a fresh random platformID, so every request is
-- still a new installation (counted as "made on the fly"). Without one it sends GET PATH.
-- Every thread counts statuses and "Connection: close" answers; done() prints them in
-- lines run.py reads (RESULT, STATUS, LATENCY, and HIST: the latency histogram), after
-- wrk's own summary.

local threads = {}
local created = 0
local ORIGIN = "http://velaux.example:8000" -- VelaUX posts cross-origin from the browser
local PLATFORM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  statuses = {}
  closes = 0
  on_the_fly = 0
  position = 0
  bodies = nil
  if args[2] then
    local stride = tonumber(args[3])
    bodies = {}
    local index = 0
    for line in io.lines(args[2]) do
      if index % stride == id then
        bodies[#bodies + 1] = line
      end
      index = index + 1
    end
    math.randomseed(os.time() * 100 + id)
    post_headers = {
      ["Accept"] = "application/json, text/plain, */*",
      ["Origin"] = ORIGIN,
      ["Content-Type"] = "application/json",
    }
  else
    get_request = wrk.format("GET", path, { ["Accept"] = "*/*" })
  end
end

local function fresh_platform_id()
  local chars = {}
  for i = 1, 16 do
    local at = math.random(#PLATFORM_ALPHABET)
    chars[i] = PLATFORM_ALPHABET:sub(at, at)
  end
  return table.concat(chars)
end

function request()
  if bodies == nil then
    return get_request
  end
  position = position + 1
  local body = bodies[position]
  if body == nil then
    body = bodies[(position - 1) % #bodies + 1]:gsub(
      '"platformID":"[^"]*"', '"platformID":"' .. fresh_platform_id() .. '"', 1
    )
    on_the_fly = on_the_fly + 1
  end
  return wrk.format("POST", path, post_headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local connection = headers["Connection"] or headers["connection"]
  if connection and connection:lower() == "close" then
    closes = closes + 1
  end
end

function done(summary, latency, requests)
  local counts, made, server_closes = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    made = made + thread:get("on_the_fly")
    server_closes = server_closes + thread:get("closes")
  end
  local errors = summary.errors
  io.write(string.format(
    "RESULT duration_us=%d requests=%d connect_errors=%d read_errors=%d write_errors=%d "
      .. "timeouts=%d server_closes=%d on_the_fly=%d\n",
    summary.duration, summary.requests, errors.connect, errors.read, errors.write,
    errors.timeout, server_closes, made
  ))
  for status, n in pairs(counts) do
    io.write(string.format("STATUS %d %d\n", status, n))
  end
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("LATENCY %g %d\n", p, latency:percentile(p)))
  end
  -- every latency seen (microseconds) and how often, so that windows can be merged
  for i = 1, #latency do
    local value, count = latency(i)
    io.write(string.format("HIST %d %d\n", value, count))
  end
end
