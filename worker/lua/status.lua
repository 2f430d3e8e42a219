-- Where destinations stand, read at one instant: per destination {stats (flat), backlog, oldest accepted ms, dead
-- letters, retrying, lanes in flight, histogram (flat), backlog bytes}, then now. Backlog bytes: the stored bodies
-- of the owed traces, summed over the first (sample) of them and scaled to the whole backlog beyond that.
-- KEYS: families...
-- ARGV: sample
-- families: each destination's owed, stats, dead_letters, retrying, lanes and histogram keys, in that order.
-- USES: now trace
local out = {}
local sample = tonumber(ARGV[1])
for base = 0, #KEYS - 1, 6 do
  local owed, stats, dead, retrying, lanes, histogram = unpack(KEYS, base + 1, base + 6)
  local oldest = false
  local size = redis.call('ZCARD', owed)
  local ids = redis.call('ZRANGE', owed, 0, sample - 1)
  if #ids > 0 then oldest = trace_accepted(body_key(ids[1])) or false end
  local bytes = 0
  for _, tid in ipairs(ids) do bytes = bytes + trace_bytes(body_key(tid)) end
  if #ids > 0 and size > #ids then bytes = math.floor(bytes * size / #ids) end
  out[#out + 1] = {redis.call('HGETALL', stats), size, oldest, redis.call('ZCARD', dead),
                   redis.call('SCARD', retrying), redis.call('ZCOUNT', lanes, '(' .. now, '+inf'),
                   redis.call('HGETALL', histogram), bytes}
end
out[#out + 1] = now
return out
