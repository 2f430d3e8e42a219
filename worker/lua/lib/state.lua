-- A destination's state, td:s:{id}: every write of it is one of these transitions, for per-trace delivery and
-- batch files alike. worker/state.py names the fields and what each means, and is the one reader.
local function state_accepted(stats, traces, workspace)  -- workspace: '' for none
  redis.call('HINCRBY', stats, 'accepted', traces)
  if workspace ~= '' then redis.call('HSET', stats, 'workspace', workspace) end
end
local function state_filtered(stats, traces)  -- refused at ingest by the destination's filter rules
  redis.call('HINCRBY', stats, 'filtered', traces)
end
local function state_written(stats, traces, files, slow)  -- traces (in files) written: healthy again
  redis.call('HINCRBY', stats, 'delivered', traces)
  if files > 0 then redis.call('HINCRBY', stats, 'files', files) end
  redis.call('HSET', stats, 'last_success_at', now, 'failures', 0, 'state', 'healthy', 'slow', slow)
  redis.call('HDEL', stats, 'last_error', 'hold_until')
end
local function state_slow(stats)  -- a write in flight for long: one lane only until a write is fast again
  redis.call('HSET', stats, 'slow', '1')
end
local function state_held(stats, traces, due, error)  -- a transient failure: nothing is tried before due
  redis.call('HINCRBY', stats, 'retried', traces)
  redis.call('HINCRBY', stats, 'failures', 1)
  if tonumber(redis.call('HGET', stats, 'hold_until') or 0) < due then redis.call('HSET', stats, 'hold_until', due) end
  redis.call('HSET', stats, 'state', 'failing', 'slow', '0', 'last_error', error, 'last_error_at', now)
end
local function state_parked(stats, traces, error, probe_at)  -- a destination error: nothing until a probe passes
  redis.call('HINCRBY', stats, 'failed', traces)
  redis.call('HSET', stats, 'state', 'failing', 'parked', '1', 'slow', '0', 'last_error', error,
             'last_error_at', now, 'next_probe_at', probe_at)
end
local function state_probe_failed(stats, error, probe_at)  -- still parked; the next probe backs off further
  redis.call('HINCRBY', stats, 'probe_failures', 1)
  redis.call('HSET', stats, 'last_error', error, 'last_error_at', now, 'next_probe_at', probe_at)
end
local function state_resumed(stats)  -- a probe or an update passed the connection test
  redis.call('HDEL', stats, 'parked', 'next_probe_at', 'hold_until', 'probe_failures')
  redis.call('HSET', stats, 'failures', 0)
end
local function state_replayed(stats)  -- dead letters owed again: a transient hold is lifted, they are tried now
  redis.call('HDEL', stats, 'hold_until')
end
local function state_dead_lettered(stats, traces)
  redis.call('HINCRBY', stats, 'dead_lettered', traces)
end
local function state_claimable(stats)  -- 'parked' or 'held' (no claim now); or false, unproven, slow
  local s = redis.call('HMGET', stats, 'parked', 'hold_until', 'state', 'slow', 'last_success_at')
  if s[1] == '1' then return 'parked' end
  if tonumber(s[2] or 0) > now then return 'held' end
  return false, s[3] == 'failing' or not s[5], s[4] == '1'
end
