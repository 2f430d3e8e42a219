-- A parked destination's probe failed: it stays parked, the next probe after probe_ms.
-- KEYS: stats
-- ARGV: error probe_ms
-- USES: now state
-- FLAGS: allow-oom
state_probe_failed(KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
return 1
