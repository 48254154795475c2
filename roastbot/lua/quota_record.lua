-- Store what one answer of X said about an endpoint's quota (roastbot/quota.py).
-- KEYS[1] the quota hash, KEYS[2] the set of endpoints with one. ARGV[1] limit, ARGV[2]
-- remaining, ARGV[3] reset, ARGV[4] seen_at, ARGV[5] refused (1/0), ARGV[6] now, ARGV[7] the
-- endpoint. Answers arrive out of order and do not count calls still in flight, so within
-- one window the count only goes down; an answer about a window that is already over is ignored.
redis.call('SADD', KEYS[2], ARGV[7])  -- the endpoints with a known quota (one round trip with it)
local q = redis.call('HMGET', KEYS[1], 'remaining', 'reset', 'assumed')
local remaining, reset = tonumber(ARGV[2]), tonumber(ARGV[3])
local refused, now = ARGV[5] == '1', tonumber(ARGV[6])
local stored_remaining, stored_reset = tonumber(q[1]), tonumber(q[2])
if not refused then
  if reset <= now then
    return 0
  end
  if stored_remaining ~= nil and (reset == stored_reset or q[3] == '1') then
    remaining = math.min(remaining, stored_remaining)
  end
end
if not refused and reset ~= stored_reset then
  -- The first answer of a window: its reset lies one window ahead (triage counts windows).
  redis.call('HSET', KEYS[1], 'window_s', reset - now)
end
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'remaining', remaining, 'reset', reset,
           'seen_at', ARGV[4], 'assumed', '0')
return 1
