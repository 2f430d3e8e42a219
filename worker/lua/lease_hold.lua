-- A lease (a token with a TTL) is taken when free, or extended by its holder: 1 if held now, else 0.
-- KEYS: lease
-- ARGV: token ttl_ms
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
