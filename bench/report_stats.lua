-- wrk script for bench/run: every request carries the Authorization header
-- given in BENCH_AUTHORIZATION (e.g. "Basic dG9rZW46c2VjcmV0"). The same
-- script drives reportstats and nginx, so both see identical requests.
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization == nil or authorization == "" then
   error("BENCH_AUTHORIZATION is not set")
end
wrk.headers["Authorization"] = authorization
wrk.headers["Accept"] = "application/json"
