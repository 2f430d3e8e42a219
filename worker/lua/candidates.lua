-- The oldest records accepted up to the cutoff, with their bodies ({tid, body, ...}), at most limit of them and,
-- past the first, at most budget bytes of bodies. A record already released leaves the outbox.
-- KEYS: owed
-- ARGV: cutoff limit budget
-- USES: trace
local budget = tonumber(ARGV[3])
local out, total = {}, 0
for _, tid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  local body = trace_body(body_key(tid))
  if not body then
    redis.call('ZREM', KEYS[1], tid)
  else
    if #out > 0 and total + #body > budget then break end
    total = total + #body
    out[#out + 1] = tid
    out[#out + 1] = body
  end
end
return out
