-- Traces the destination can never take: out of the outbox, into its dead letters with the reason.
-- KEYS: owed retrying dead_letters dead_reasons stats
-- ARGV: reason ids...
-- USES: now state
-- FLAGS: allow-oom
local n = 0
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('SREM', KEYS[2], ARGV[i])
    redis.call('ZADD', KEYS[3], now, ARGV[i])
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[1])
    n = n + 1
  end
end
state_dead_lettered(KEYS[5], n)
return n
