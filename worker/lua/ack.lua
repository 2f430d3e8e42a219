-- The file at key is written: its records leave the outbox, its manifest goes, the destination is healthy.
-- Returns how many records were owed; -1 if that manifest is no longer pending.
-- KEYS: manifest owed retrying histogram stats stored
-- ARGV: key bounds
-- bounds: the latency histogram's bucket bounds in seconds, space-separated.
-- USES: now words trace settle state stored
if redis.call('HGET', KEYS[1], 'key') ~= ARGV[1] then return -1 end
local bounds = words(ARGV[2])
local done, freed = 0, 0
for tid in string.gmatch(redis.call('HGET', KEYS[1], 'ids'), '[^,]+') do
  local owed, bytes = settle(KEYS[2], KEYS[3], KEYS[4], tid, bounds)
  done, freed = done + owed, freed + bytes
end
redis.call('DEL', KEYS[1])
state_written(KEYS[5], done, 1, '0')
stored_released(KEYS[6], KEYS[5], freed)
return done
