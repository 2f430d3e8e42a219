-- Lease up to limit due traces (wanted first) to the lane token, if the destination takes one more lane.
-- {'ok', limit applied, tid, body, ...} under the lane (taken or renewed); otherwise {'parked'|'held'|'busy'|'empty'}
-- and the caller holds no lane. A destination failing, slow or never yet written to gets one lane only; one failing
-- or never yet written to claims at most the trial limit at once. Unless 'busy' (the lanes at work will find what
-- comes next), it clears the destination's announced key when it claims nothing: the next trace accepted is
-- announced anew (accept.lua).
-- KEYS: stats lanes owed announced
-- ARGV: token limit lease_ms lane_cap trial wanted...
-- USES: now trace state
-- FLAGS: allow-oom
local stats, lanes, owed, announced = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token = ARGV[1]
local blocked, unproven, slow = state_claimable(stats)
if blocked then
  redis.call('ZREM', lanes, token)
  redis.call('DEL', announced)
  return {blocked}
end
redis.call('ZREMRANGEBYSCORE', lanes, '-inf', now)
if not redis.call('ZSCORE', lanes, token) then
  local cap = tonumber(ARGV[4])
  if unproven or slow then cap = 1 end
  if redis.call('ZCARD', lanes) >= cap then return {'busy'} end
end
local limit = tonumber(ARGV[2])
if unproven then limit = math.min(limit, tonumber(ARGV[5])) end
local lease = now + tonumber(ARGV[3])
local claimed = {}
for i = 6, #ARGV do
  if #claimed >= limit then break end
  local score = redis.call('ZSCORE', owed, ARGV[i])
  if score and tonumber(score) <= now then
    redis.call('ZADD', owed, 'XX', lease, ARGV[i])
    claimed[#claimed + 1] = ARGV[i]
  end
end
if #claimed < limit then
  for _, tid in ipairs(redis.call('ZRANGEBYSCORE', owed, '-inf', now, 'LIMIT', 0, limit - #claimed)) do
    redis.call('ZADD', owed, 'XX', lease, tid)
    claimed[#claimed + 1] = tid
  end
end
local out = {'ok', limit}
for _, tid in ipairs(claimed) do
  local body = trace_body(body_key(tid))
  if body then
    out[#out + 1] = tid
    out[#out + 1] = body
  else
    redis.call('ZREM', owed, tid)
  end
end
if #out == 2 then
  redis.call('ZREM', lanes, token)
  redis.call('DEL', announced)
  return {'empty'}
end
redis.call('ZADD', lanes, lease, token)
return out
