-- A trace's record, td:t:{tid}: the one place that knows its layout. A string: '>I4d' (how many destinations
-- still owe it, accepted at ms) and then the stored body (worker/bodies.py).
--
-- Records stored by versions before the one-string record are hashes: b (body), n (count), a (accepted at ms).
-- They are read, counted down and released just the same. This support (the 'hash' branches) can go once no
-- deployment holds such a record: every one of them is released when its last destination takes it, so a
-- deployment whose backlog at the upgrade has drained has none left (tests/integration/test_stored_bodies.py).
local HEADER = {{HEADER_BYTES}}
local function body_key(tid) return '{{BODY_PREFIX}}' .. tid end
local function trace_record(owed, accepted, body) return struct.pack('>I4d', owed, accepted) .. body end
local function trace_body(tkey)  -- the stored body, or false once the record is gone
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then return redis.call('GETRANGE', tkey, HEADER, -1) end
  if kind == 'hash' then return redis.call('HGET', tkey, 'b') end
  return false
end
local function trace_accepted(tkey)  -- ms, or nil once the record is gone
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then return (struct.unpack('>d', redis.call('GETRANGE', tkey, 4, HEADER - 1))) end
  if kind == 'hash' then return tonumber(redis.call('HGET', tkey, 'a')) end
  return nil
end
local function trace_bytes(tkey)  -- the stored body's size
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then return redis.call('STRLEN', tkey) - HEADER end
  if kind == 'hash' then return redis.call('HSTRLEN', tkey, 'b') end
  return 0
end
local function trace_released(tkey)  -- one destination fewer owes it; the record goes with the last
  -- returns the stored body's bytes when the record goes, else 0 (a hash record was never counted: 0 too)
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then
    local owed = struct.unpack('>I4', redis.call('GETRANGE', tkey, 0, 3)) - 1
    if owed > 0 then redis.call('SETRANGE', tkey, 0, struct.pack('>I4', owed)) return 0 end
    local bytes = redis.call('STRLEN', tkey) - HEADER
    redis.call('DEL', tkey)
    return bytes
  elseif kind == 'hash' and redis.call('HINCRBY', tkey, 'n', -1) <= 0 then
    redis.call('DEL', tkey)
  end
  return 0
end
