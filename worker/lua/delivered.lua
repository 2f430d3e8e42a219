-- The traces are written: they leave the outbox and the destination is healthy. Returns how many were owed.
-- KEYS: owed retrying histogram stats
-- ARGV: slow bounds ids...
-- slow: '1' or '0'; bounds: the latency histogram's bucket bounds in seconds, space-separated.
-- USES: now words trace settle state
-- FLAGS: allow-oom
local bounds = words(ARGV[2])
local done = 0
for i = 3, #ARGV do done = done + settle(KEYS[1], KEYS[2], KEYS[3], ARGV[i], bounds) end
state_written(KEYS[4], done, 0, ARGV[1])
return done
