-- wrk script for bench/run's live part: every request posts a batch of
-- BENCH_BATCH_EVENTS report_viewed events with ids no other request of the
-- run uses (BENCH_RUN names the run, wrk's thread and a counter the rest),
-- for one of BENCH_REPORTS reports and one of 200 viewers. With
-- BENCH_READ_PATH set, a request is instead a GET of that path, and
-- BENCH_WRITE_SHARE (0 to 1) is the share of requests that post.
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization == nil or authorization == "" then
   error("BENCH_AUTHORIZATION is not set")
end
local batch = tonumber(os.getenv("BENCH_BATCH_EVENTS") or "1")
local reports = tonumber(os.getenv("BENCH_REPORTS") or "1000")
local run = os.getenv("BENCH_RUN") or "live"
local read_path = os.getenv("BENCH_READ_PATH")
local write_share = tonumber(os.getenv("BENCH_WRITE_SHARE") or "1")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local counter = 0
local post_headers = {
   ["Authorization"] = authorization,
   ["Content-Type"] = "application/x-ndjson",
}
local get_headers = {
   ["Authorization"] = authorization,
   ["Accept"] = "application/json",
}

function init(args)
   math.randomseed(tid * 7919)
end

function request()
   if read_path ~= nil and math.random() >= write_share then
      return wrk.format("GET", read_path, get_headers, nil)
   end
   local lines = {}
   for i = 1, batch do
      counter = counter + 1
      lines[i] = string.format(
         '{"id":"%s-%d-%d","type":"report_viewed","report_id":%d,"email":"viewer%d@example.com"}',
         run, tid, counter, math.random(1, reports), math.random(1, 200))
   end
   return wrk.format("POST", wrk.path, post_headers, table.concat(lines, "\n"))
end
