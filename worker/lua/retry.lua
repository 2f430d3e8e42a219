-- A transient failure: the traces are due again after delay_ms, and the destination takes no claim before then.
-- KEYS: owed retrying stats
-- ARGV: delay_ms error ids...
-- USES: now state
-- FLAGS: allow-oom
local due = now + tonumber(ARGV[1])
local n = 0
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], due, ARGV[i])
    redis.call('SADD', KEYS[2], ARGV[i])
    n = n + 1
  end
end
state_held(KEYS[3], n, due, ARGV[2])
return n
