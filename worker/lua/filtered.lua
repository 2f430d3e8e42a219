-- Count the traces each destination's filter rules refused at ingest (never owed to it: worker/state.py); a
-- destination deleted since the caller read the routes is skipped.
-- KEYS: destinations stats...
-- ARGV: ids counts...
-- ids: the destinations, space-separated; stats and counts: one per destination, in that order.
-- USES: now words state
for at, id in ipairs(words(ARGV[1])) do
  if redis.call('SISMEMBER', KEYS[1], id) == 1 then state_filtered(KEYS[1 + at], tonumber(ARGV[1 + at])) end
end
return 0
