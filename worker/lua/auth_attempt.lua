-- An admin authentication attempt of one client whose token was compared already (outcome 'right' or 'wrong'; 'none'
-- when no token was compared), decided and counted in one step, so attempts in flight together are each counted
-- before any of them is let in. Returns 0 if it goes on (let in when right), else the seconds the client must wait.
-- A client that failed limit times lately is refused whatever it sends, and each attempt it makes restarts the
-- window, so it is let in again only after window_s without one; a wrong token restarts it too.
-- KEYS: failures
-- ARGV: outcome limit window_s
-- FLAGS: allow-oom
if tonumber(redis.call('GET', KEYS[1]) or 0) >= tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return tonumber(ARGV[3])
end
if ARGV[1] == 'wrong' then
  redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 0
