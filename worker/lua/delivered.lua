-- The traces are written: they leave the outbox and the destination is healthy. Returns how many were owed.
-- KEYS: owed retrying histogram stats stored
-- ARGV: slow bounds ids...
-- slow: '1' or '0'; bounds: the latency histogram's bucket bounds in seconds, space-separated.
-- USES: now words trace settle state stored
-- FLAGS: allow-oom
local bounds = words(ARGV[2])
local done, freed = 0, 0
for i = 3, #ARGV do
  local owed, bytes = settle(KEYS[1], KEYS[2], KEYS[3], ARGV[i], bounds)
  done, freed = done + owed, freed + bytes
end
state_written(KEYS[4], done, 0, ARGV[1])
stored_released(KEYS[5], KEYS[4], freed)
return done
