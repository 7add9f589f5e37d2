-- Plain GET of the URL given to wrk (no per-request Lua: the cheapest client path for every contestant).
local report = dofile(os.getenv("BENCH_DIR") .. "/wrk/report.lua")
done = report.done
