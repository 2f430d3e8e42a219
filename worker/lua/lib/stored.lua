-- A workspace's stored bytes, td:m:stored_bytes: the stored bodies of its traces' records, counted once however many
-- destinations owe a record; added when a record is stored, taken off when it is released. A destination's state
-- keeps its workspace ('workspace', set when traces are accepted for it) for the scripts that release records.
local function stored_full(stored, workspace, cap)  -- the workspace holds its cap (0: none) already
  return cap > 0 and tonumber(redis.call('HGET', stored, workspace) or 0) >= cap
end
local function stored_added(stored, workspace, bytes)
  if bytes > 0 then redis.call('HINCRBY', stored, workspace, bytes) end
end
local function stored_released(stored, stats, bytes)  -- records released by one of this destination's scripts
  if bytes <= 0 then return end
  local workspace = redis.call('HGET', stats, 'workspace')
  -- below zero only for records stored before the count began: it starts again from nothing
  if workspace and redis.call('HINCRBY', stored, workspace, -bytes) <= 0 then redis.call('HDEL', stored, workspace) end
end
