-- Under the export lease: is a cycle due? Then it starts now; returns its cutoff (now), or false.
-- KEYS: export_lease stats schedule manifest owed
-- ARGV: token every_ms
-- USES: now due
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if not due(KEYS[2], KEYS[3], KEYS[4], KEYS[5], tonumber(ARGV[2])) then return false end
redis.call('HSET', KEYS[3], 'last_at', now)
redis.call('HDEL', KEYS[3], 'due_at')
return now
