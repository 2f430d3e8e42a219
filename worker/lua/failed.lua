-- A failed export of a file of records: parked until a probe passes (the first after probe_ms), or held for
-- retry_ms; either way the cycle is due again when the destination is.
-- KEYS: stats schedule
-- ARGV: records error retry_ms park probe_ms
-- park: '1' or '0'.
-- USES: now state
local records = tonumber(ARGV[1])
if ARGV[4] == '1' then
  state_parked(KEYS[1], records, ARGV[2], now + tonumber(ARGV[5]))
  redis.call('HSET', KEYS[2], 'due_at', now)
else
  local due = now + tonumber(ARGV[3])
  state_held(KEYS[1], records, due, ARGV[2])
  redis.call('HSET', KEYS[2], 'due_at', due)
end
return 1
