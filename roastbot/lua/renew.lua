-- The claim keeper's heartbeat: extend the leases a worker still holds.
-- KEYS the mentions' state hashes; ARGV[1] lease (ms), ARGV[i + 1] the holder of KEYS[i].
-- Returns the positions (1-based) of the claims that are no longer the holder's.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'owner') == ARGV[i + 1] then
    redis.call('HSET', key, 'lease_until', now_ms + tonumber(ARGV[1]))
  else
    lost[#lost + 1] = i
  end
end
return lost
