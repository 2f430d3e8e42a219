-- Store new traces and owe each to its destinations, atomically: one record per trace, one outbox entry per
-- destination that still exists (one deleted since the caller read the routes is skipped), the records' bytes added
-- to the workspace's. Returns the first id; -1, storing nothing, when the workspace holds its cap of stored bytes.
-- KEYS: sequence destinations accepted stored owed_and_stats...
-- ARGV: workspace cap count destination_ids traces...
-- owed_and_stats: each destination's owed and stats keys, in the order of destination_ids (space-separated);
-- traces: per trace its body, how many destinations it is owed to, and their positions (from 1) in that list;
-- workspace: '' for none; cap: the workspace's stored bytes beyond which nothing more is stored (0: none).
-- USES: now words trace state stored
local workspace, n = ARGV[1], tonumber(ARGV[3])
if workspace ~= '' and ARGV[4] ~= '' and stored_full(KEYS[4], workspace, tonumber(ARGV[2])) then return -1 end
local first = redis.call('INCRBY', KEYS[1], n) - n + 1
local exists, per_dest = {}, {}
for at, dest in ipairs(words(ARGV[4])) do
  exists[at] = redis.call('SISMEMBER', KEYS[2], dest) == 1
  per_dest[at] = 0
end
local i, bytes = 5, 0
for k = 0, n - 1 do
  local tid = first + k
  local body, count = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local owed = 0
  for _ = 1, count do
    local at = tonumber(ARGV[i])
    i = i + 1
    if exists[at] then
      redis.call('ZADD', KEYS[3 + 2 * at], now, tid)
      per_dest[at] = per_dest[at] + 1
      owed = owed + 1
    end
  end
  if owed > 0 then
    redis.call('SET', body_key(tid), trace_record(owed, now, body))
    bytes = bytes + #body
  end
end
for at, count in ipairs(per_dest) do
  if count > 0 then state_accepted(KEYS[4 + 2 * at], count, workspace) end
end
if workspace ~= '' then
  redis.call('HINCRBY', KEYS[3], workspace, n)
  stored_added(KEYS[4], workspace, bytes)
end
return first
