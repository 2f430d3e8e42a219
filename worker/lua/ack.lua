-- The file at key is written: its records leave the outbox, its manifest goes, the destination is healthy.
-- Returns how many records were owed; -1 if that manifest is no longer pending.
-- KEYS: manifest owed retrying histogram stats
-- ARGV: key bounds
-- bounds: the latency histogram's bucket bounds in seconds, space-separated.
-- USES: now words trace settle state
if redis.call('HGET', KEYS[1], 'key') ~= ARGV[1] then return -1 end
local bounds = words(ARGV[2])
local done = 0
for tid in string.gmatch(redis.call('HGET', KEYS[1], 'ids'), '[^,]+') do
  done = done + settle(KEYS[2], KEYS[3], KEYS[4], tid, bounds)
end
redis.call('DEL', KEYS[1])
state_written(KEYS[5], done, 1, '0')
return done
