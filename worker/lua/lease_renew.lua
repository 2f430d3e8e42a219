-- A lease (a token with a TTL) is extended by its holder: 1, or 0 if another holds it or none does.
-- KEYS: lease
-- ARGV: token ttl_ms
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
