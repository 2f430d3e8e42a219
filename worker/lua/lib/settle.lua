-- settle(owed, retrying, histogram, tid, bounds): the trace is written; it leaves the outbox, its latency goes
-- into the histogram (bucket upper bounds, seconds) and its record is released once no destination owes it.
-- 1 if it was owed (0 if not), and the bytes its released record held.
local function settle(owed, retrying, histogram, tid, bounds)
  if redis.call('ZREM', owed, tid) ~= 1 then return 0, 0 end
  redis.call('SREM', retrying, tid)
  local tkey = body_key(tid)
  local seconds = (now - (trace_accepted(tkey) or now)) / 1000
  local bucket = '+Inf'
  for _, bound in ipairs(bounds) do
    if seconds <= tonumber(bound) then bucket = bound; break end
  end
  redis.call('HINCRBY', histogram, bucket, 1)
  redis.call('HINCRBYFLOAT', histogram, 'sum', seconds)
  return 1, trace_released(tkey)
end
