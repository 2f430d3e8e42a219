-- A destination error: the traces are due again (for when it resumes) and the destination is parked until a probe
-- passes, the first after probe_ms.
-- KEYS: owed retrying stats
-- ARGV: error probe_ms ids...
-- USES: now state
-- FLAGS: allow-oom
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now, ARGV[i])
    redis.call('SADD', KEYS[2], ARGV[i])
  end
end
state_parked(KEYS[3], #ARGV - 2, ARGV[1], now + tonumber(ARGV[2]))
return 1
