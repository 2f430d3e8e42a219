-- Store new traces and owe each to its destinations, atomically: one record per trace, one outbox entry per
-- destination that still exists (one deleted since the caller read the routes is skipped). Returns the first id.
-- KEYS: sequence destinations accepted owed_and_stats...
-- ARGV: workspace count destination_ids traces...
-- owed_and_stats: each destination's owed and stats keys, in the order of destination_ids (space-separated);
-- traces: per trace its body, how many destinations it is owed to, and their positions (from 1) in that list;
-- workspace: '' for none.
-- USES: now words trace state
local n = tonumber(ARGV[2])
local first = redis.call('INCRBY', KEYS[1], n) - n + 1
local exists, per_dest = {}, {}
for at, dest in ipairs(words(ARGV[3])) do
  exists[at] = redis.call('SISMEMBER', KEYS[2], dest) == 1
  per_dest[at] = 0
end
local i = 4
for k = 0, n - 1 do
  local tid = first + k
  local body, count = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local owed = 0
  for _ = 1, count do
    local at = tonumber(ARGV[i])
    i = i + 1
    if exists[at] then
      redis.call('ZADD', KEYS[2 + 2 * at], now, tid)
      per_dest[at] = per_dest[at] + 1
      owed = owed + 1
    end
  end
  if owed > 0 then redis.call('SET', body_key(tid), trace_record(owed, now, body)) end
end
for at, count in ipairs(per_dest) do
  if count > 0 then state_accepted(KEYS[3 + 2 * at], count) end
end
if ARGV[1] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[1], n) end
return first
