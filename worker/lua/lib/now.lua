-- now: the Redis server's clock in ms, the one clock of every outbox script.
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
