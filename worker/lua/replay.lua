-- Every dead letter is owed again, due now, and a transient failure's hold is lifted (the operator fixed what
-- refused them and asks for an attempt now; a parked destination stays parked until its probe passes). Returns
-- their ids, for the announcement that has them claimed first.
-- KEYS: dead_letters dead_reasons owed stats
-- USES: now state
-- FLAGS: allow-oom
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, tid in ipairs(ids) do redis.call('ZADD', KEYS[3], now, tid) end
redis.call('DEL', KEYS[1], KEYS[2])
if #ids > 0 then state_replayed(KEYS[4]) end
return ids
