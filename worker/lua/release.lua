-- A lane is done: the destination may give it to another drain.
-- KEYS: lanes
-- ARGV: token
-- FLAGS: allow-oom
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
