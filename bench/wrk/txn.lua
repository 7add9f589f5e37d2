-- kvstream synchronous POST /txn with no compare and two puts on two different random keys out of KEYSPACE keys
-- (KEY_PREFIX + 7 digits, numbered from KEY_FIRST), VALUE_BYTES-byte values: the same keys and values as put.lua,
-- two changes in one commit; 200 only after commit + apply on that process.
local report = dofile(os.getenv("BENCH_DIR") .. "/wrk/report.lua")
local keyspace = tonumber(os.getenv("KEYSPACE") or "10000")
local first = tonumber(os.getenv("KEY_FIRST") or "0")
local prefix = os.getenv("KEY_PREFIX") or "bench-"
local value = string.rep("v", tonumber(os.getenv("VALUE_BYTES") or "100"))
local headers = { ["Content-Type"] = "application/json" }
setup = report.setup
function init(args)
    math.randomseed(os.time() * 1000 + (thread_id or 0))
end
function request()
    local a = math.random(0, keyspace - 1)
    local b = (a + math.random(1, keyspace - 1)) % keyspace -- never a: a key at most once per list
    local body = '{"success":[{"op":"put","key":"' .. report.key(prefix, first + a) .. '","value":"' .. value
        .. '"},{"op":"put","key":"' .. report.key(prefix, first + b) .. '","value":"' .. value .. '"}]}'
    return wrk.format("POST", "/txn", headers, body)
end
done = report.done
