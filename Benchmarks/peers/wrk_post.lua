-- wrk script for the serving part of make bench: POSTs the image in WRK_BODY to /predict.
-- With WRK_RATE (requests/s for all connections together) each connection waits between its
-- requests so that the whole load stays near that rate: latency at a fixed load below
-- saturation, as wrk2 would measure it (wrk's own delay() hook; WRK_CONNECTIONS connections).
local file = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "image/jpeg"
local rate = tonumber(os.getenv("WRK_RATE") or "0")
local connections = tonumber(os.getenv("WRK_CONNECTIONS") or "1")
if rate > 0 then
    function delay()
        -- Exponential gaps keep connections from marching in step.
        return -math.log(1 - math.random()) * connections / rate * 1000
    end
end
local errors = 0
function response(status, headers, body)
    if status ~= 200 then errors = errors + 1 end
end
function done(summary, latency, requests)
    io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"errors\": %d, \"socket_errors\": %d}\n",
        summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, summary.errors.status + errors,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
