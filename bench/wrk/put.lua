-- kvstream synchronous PUT /values/{key} with a random key out of KEYSPACE keys (KEY_PREFIX + 7 digits,
-- numbered from KEY_FIRST) and a VALUE_BYTES-byte value: 200 only after commit + apply on that process.
-- PUT_ASYNC=1: with Prefer: respond-async, 202 once the command is enqueued for the worker.
local report = dofile(os.getenv("BENCH_DIR") .. "/wrk/report.lua")
local keyspace = tonumber(os.getenv("KEYSPACE") or "10000")
local first = tonumber(os.getenv("KEY_FIRST") or "0")
local prefix = os.getenv("KEY_PREFIX") or "bench-"
local value = string.rep("v", tonumber(os.getenv("VALUE_BYTES") or "100"))
local headers = { ["Content-Type"] = "text/plain" }
if os.getenv("PUT_ASYNC") == "1" then
    headers["Prefer"] = "respond-async"
end
setup = report.setup
function init(args)
    math.randomseed(os.time() * 1000 + (thread_id or 0))
end
function request()
    return wrk.format("PUT", "/values/" .. report.key(prefix, first + math.random(0, keyspace - 1)), headers, value)
end
done = report.done
