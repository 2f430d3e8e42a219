-- A deleted destination: release what it was owed and its dead letters, and drop everything the outbox kept for it.
-- KEYS: owed dead_letters dead_reasons stats histogram retrying lanes
-- USES: trace
-- FLAGS: allow-oom
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  for _, tid in ipairs(redis.call('ZRANGE', key, 0, -1)) do trace_released(body_key(tid)) end
end
redis.call('DEL', unpack(KEYS))
return 1
