-- A lease is given up by its holder (and only by its holder).
-- KEYS: lease
-- ARGV: token
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
