-- A deleted destination: release what it was owed and its dead letters (their bytes leave its workspace's), and drop
-- everything the outbox kept for it.
-- KEYS: owed dead_letters dead_reasons stats histogram retrying lanes announced stored
-- USES: trace stored
-- FLAGS: allow-oom
local freed = 0
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  for _, tid in ipairs(redis.call('ZRANGE', key, 0, -1)) do freed = freed + trace_released(body_key(tid)) end
end
stored_released(KEYS[9], KEYS[4], freed)
redis.call('DEL', unpack(KEYS, 1, 8))
return 1
