-- Which destinations are owed something due for over grace_ms (nobody is working on it), and which parked ones are
-- due a probe: {positions of stale ones, positions of ones to probe}, positions from 1 in the list given.
-- A destination waiting out a transient failure's backoff is neither.
-- KEYS: stats_and_owed...
-- ARGV: grace_ms
-- stats_and_owed: each destination's stats and owed keys, in that order.
-- USES: now
-- FLAGS: allow-oom
local stale, probe = {}, {}
for at = 1, #KEYS / 2 do
  local stats, owed = KEYS[2 * at - 1], KEYS[2 * at]
  local s = redis.call('HMGET', stats, 'parked', 'next_probe_at', 'hold_until')
  if s[1] == '1' then
    if tonumber(s[2] or 0) <= now then probe[#probe + 1] = at end
  elseif tonumber(s[3] or 0) <= now and
      #redis.call('ZRANGEBYSCORE', owed, '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, 1) > 0 then
    stale[#stale + 1] = at
  end
end
return {stale, probe}
