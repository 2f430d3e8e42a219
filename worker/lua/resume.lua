-- A probe or an update passed the connection test: the destination resumes and what it owes is due now.
-- Returns how many traces were made due.
-- KEYS: stats owed
-- USES: now state
-- FLAGS: allow-oom
state_resumed(KEYS[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')
for _, tid in ipairs(ids) do redis.call('ZADD', KEYS[2], 'XX', now, tid) end
return #ids
