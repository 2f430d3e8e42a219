-- due(stats, schedule, manifest, owed, every): is an export cycle of this batch destination due now? (A first look
-- starts its clock; a cycle with nothing owed restarts it.)
local function due(stats, schedule, manifest, owed, every)
  if redis.call('HGET', stats, 'parked') == '1' then return false end
  local due_at = redis.call('HGET', schedule, 'due_at')
  if due_at then return tonumber(due_at) <= now end
  if redis.call('EXISTS', manifest) == 1 then return true end
  local last = redis.call('HGET', schedule, 'last_at')
  if not last then redis.call('HSET', schedule, 'last_at', now) return false end
  if now < tonumber(last) + every then return false end
  if redis.call('ZCARD', owed) == 0 then redis.call('HSET', schedule, 'last_at', now) return false end
  return true
end
