-- Shared wrk reporting: one machine-readable line per run (rps, p50/p99 in ms, socket errors, non-2xx).
local report = {}

function report.done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d non2xx=%d\n",
        summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end

-- Per-thread id for seeding the random key choice (set from setup()).
local threads = 0
function report.setup(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

-- RFC 4648 base64 (etcd's JSON gateway takes keys and values base64-encoded).
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function report.base64(data)
    return ((data:gsub(".", function(x)
        local r, b = "", x:byte()
        for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
        return r
    end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
        if #x < 6 then return "" end
        local c = 0
        for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
        return alphabet:sub(c + 1, c + 1)
    end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

-- Key i of the benchmark key space: the same names in kvstream, PostgreSQL and etcd.
function report.key(prefix, i)
    return string.format("%s%07d", prefix, i)
end

return report
