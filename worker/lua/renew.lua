-- A lane still working extends its lease and its traces' (never shortening a later due time); slow ('1' or '0')
-- marks the destination slow. 0 if the lane had already expired.
-- KEYS: lanes owed stats
-- ARGV: token lease_ms slow ids...
-- USES: now state
-- FLAGS: allow-oom
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local lease = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', lease, ARGV[1])
for i = 4, #ARGV do redis.call('ZADD', KEYS[2], 'XX', 'GT', lease, ARGV[i]) end
if ARGV[3] == '1' then state_slow(KEYS[3]) end
return 1
