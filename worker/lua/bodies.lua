-- The stored body of each trace, or false once its record is released (whichever layout each record has).
-- ARGV: ids...
-- USES: trace
-- FLAGS: allow-oom
local out = {}
for i = 1, #ARGV do out[i] = trace_body(body_key(ARGV[i])) end
return out
