-- Store new traces and owe each to its destinations, atomically: one record per trace, one outbox entry per
-- destination that still exists (one deleted since the caller read the routes is skipped), the records' bytes added
-- to the workspace's. Returns the first id; -1, storing nothing, when the workspace holds its cap of stored bytes;
-- with a version, -2 when the workspace's routing changed since the caller read it at that version (it reads it
-- again and routes anew) and -3 when the ingest key is gone (revoked), storing nothing either. Stored, it returns
-- {first id, positions}: the destinations to announce the traces to, space-separated positions in destination_ids.
-- KEYS: sequence destinations accepted stored samples routes_version ingest_key per_destination...
-- ARGV: workspace cap count destination_ids version keep_samples announced announce_ms traces...
-- per_destination: each destination's owed, stats and announced keys, in the order of destination_ids
-- (space-separated);
-- announced: per destination, '1' if the workers are told of its new traces (delivered one by one), else '0'; one
-- that was owed some is announced unless it was announced already and no lane has found it with nothing due since
-- (claim.lua clears its announced key then), nor announce_ms passed;
-- traces: per trace its body, how many destinations it is owed to, and their positions (from 1) in that list;
-- workspace: '' for none; cap: the workspace's stored bytes beyond which nothing more is stored (0: none);
-- version: the routing version the caller routed by ('' to check neither it nor the key);
-- keep_samples: keep the bodies of owed traces, the newest this many, in the samples list (0: none).
-- USES: now words trace state stored
local workspace, n, version, samples = ARGV[1], tonumber(ARGV[3]), ARGV[5], tonumber(ARGV[6])
if version ~= '' then
  if (redis.call('GET', KEYS[6]) or '0') ~= version then return {-2} end
  if redis.call('EXISTS', KEYS[7]) == 0 then return {-3} end
end
if workspace ~= '' and ARGV[4] ~= '' and stored_full(KEYS[4], workspace, tonumber(ARGV[2])) then return {-1} end
local first = redis.call('INCRBY', KEYS[1], n) - n + 1
local exists, per_dest = {}, {}
for at, dest in ipairs(words(ARGV[4])) do
  exists[at] = redis.call('SISMEMBER', KEYS[2], dest) == 1
  per_dest[at] = 0
end
local i, bytes, sampled = 9, 0, 0
for k = 0, n - 1 do
  local tid = first + k
  local body, count = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local owed = 0
  for _ = 1, count do
    local at = tonumber(ARGV[i])
    i = i + 1
    if exists[at] then
      redis.call('ZADD', KEYS[5 + 3 * at], now, tid)
      per_dest[at] = per_dest[at] + 1
      owed = owed + 1
    end
  end
  if owed > 0 then
    redis.call('SET', body_key(tid), trace_record(owed, now, body))
    bytes = bytes + #body
    if sampled < samples then
      redis.call('LPUSH', KEYS[5], body)
      sampled = sampled + 1
    end
  end
end
if sampled > 0 then redis.call('LTRIM', KEYS[5], 0, samples - 1) end
local announce = {}
for at, count in ipairs(per_dest) do
  if count > 0 then
    state_accepted(KEYS[6 + 3 * at], count, workspace)
    if string.sub(ARGV[7], at, at) == '1' and redis.call('SET', KEYS[7 + 3 * at], 1, 'PX', ARGV[8], 'NX') then
      announce[#announce + 1] = at
    end
  end
end
if workspace ~= '' then
  redis.call('HINCRBY', KEYS[3], workspace, n)
  stored_added(KEYS[4], workspace, bytes)
end
return {first, table.concat(announce, ' ')}
