-- etcd range of one key through the v3 JSON gateway: POST /v3/kv/range {"key": base64(key)}.
local report = dofile(os.getenv("BENCH_DIR") .. "/wrk/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"key":"' .. report.base64(os.getenv("KEY") or "bench-get") .. '"}'
done = report.done
