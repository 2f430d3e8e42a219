-- Batch destinations whose export cycle is due, not being exported and not announced in the last kick_ms:
-- their positions (from 1) in the list given, each now announced.
-- KEYS: families...
-- ARGV: kick_ms every_ms...
-- families: each destination's stats, schedule, manifest, owed, export_lease and export_announced keys, in that
-- order; every_ms: each destination's cycle length, in the same order.
-- USES: now due
local out = {}
for at = 1, #ARGV - 1 do
  local stats, schedule, manifest, owed, lease, announced = unpack(KEYS, 6 * at - 5, 6 * at)
  if redis.call('EXISTS', lease) == 0 and due(stats, schedule, manifest, owed, tonumber(ARGV[at + 1])) then
    if redis.call('SET', announced, 1, 'NX', 'PX', ARGV[1]) then out[#out + 1] = at end
  end
end
return out
