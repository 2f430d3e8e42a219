-- Every dead letter is owed again, due now. Returns how many.
-- KEYS: dead_letters dead_reasons owed
-- USES: now
-- FLAGS: allow-oom
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, tid in ipairs(ids) do redis.call('ZADD', KEYS[3], now, tid) end
redis.call('DEL', KEYS[1], KEYS[2])
return #ids
