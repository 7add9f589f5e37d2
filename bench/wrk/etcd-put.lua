-- etcd put through the v3 JSON gateway with the same keys and value size as put.lua.
local report = dofile(os.getenv("BENCH_DIR") .. "/wrk/report.lua")
local keyspace = tonumber(os.getenv("KEYSPACE") or "10000")
local first = tonumber(os.getenv("KEY_FIRST") or "0")
local prefix = os.getenv("KEY_PREFIX") or "bench-"
local value = report.base64(string.rep("v", tonumber(os.getenv("VALUE_BYTES") or "100")))
local headers = { ["Content-Type"] = "application/json" }
local keys = {}
setup = report.setup
function init(args)
    math.randomseed(os.time() * 1000 + (thread_id or 0))
    -- Encode the key space once, so the request loop costs the same as put.lua's.
    for i = 0, keyspace - 1 do
        keys[i] = report.base64(report.key(prefix, first + i))
    end
end
function request()
    local body = '{"key":"' .. keys[math.random(0, keyspace - 1)] .. '","value":"' .. value .. '"}'
    return wrk.format("POST", "/v3/kv/put", headers, body)
end
done = report.done
