-- The manifest of a new file, written before its PUT: {key, tid, ...} of the records still owed; false when the
-- lease was lost, a file is pending, or none of the records is still owed. The file's key is the stem, '-<n>' for
-- the n+1st file of the same stem within the counter's hour, and the extension.
-- KEYS: export_lease manifest owed counter
-- ARGV: token stem extension format privacy ids...
-- privacy: '1' or '0'.
-- USES: now
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local out = {''}
for i = 6, #ARGV do
  if redis.call('ZSCORE', KEYS[3], ARGV[i]) then out[#out + 1] = ARGV[i] end
end
if #out == 1 then return false end
local n = redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], 3600)
local key = ARGV[2]
if n > 1 then key = key .. '-' .. (n - 1) end
out[1] = key .. ARGV[3]
redis.call('HSET', KEYS[2], 'key', out[1], 'format', ARGV[4], 'privacy', ARGV[5],
           'ids', table.concat(out, ',', 2), 'at', now)
return out
