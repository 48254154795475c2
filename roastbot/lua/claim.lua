-- Claim one mention for one holder, with a lease measured on Redis's own clock.
-- KEYS[1] the mention's state hash.
-- ARGV[1] holder, ARGV[2] lease (ms), ARGV[3] state hash TTL (s), ARGV[4] the state a first
-- claim writes ('': no record, no claim), ARGV[5] space-separated states in which the claim is refused (final, parked).
-- ARGV[6] an event to count whatever the verdict ('': none), in KEYS[2] (the totals) and
-- KEYS[3] (this minute's counters, kept ARGV[7] s): the trigger's count rides on the claim.
-- Returns {verdict, state, ms since the last update, the hash as a flat list}; verdict is
-- 'held' (now this holder's), 'closed' (the mention is in one of ARGV[5]) or 'busy' (another live holder).
if ARGV[6] and ARGV[6] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[6], 1)
  redis.call('HINCRBY', KEYS[3], ARGV[6], 1)
  redis.call('EXPIRE', KEYS[3], ARGV[7])
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_s = string.format('%.3f', now_ms / 1000)
local state = redis.call('HGET', KEYS[1], 'state')
if not state and ARGV[4] == '' then
  return {'closed', '', 0, {}}
end
if state and string.find(' ' .. ARGV[5] .. ' ', ' ' .. state .. ' ', 1, true) then
  return {'closed', state, 0, {}}
end
local owner = redis.call('HGET', KEYS[1], 'owner')
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0') or 0
if owner and owner ~= '' and owner ~= ARGV[1] and lease > now_ms then
  return {'busy', state or '', 0, {}}
end
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated_at') or '0') or 0
local since = 0
if updated > 0 then since = math.max(0, now_ms - math.floor(updated * 1000)) end
if not state then
  redis.call('HSET', KEYS[1], 'state', ARGV[4], 'first_seen', now_s, 'updated_at', now_s)
  state = ''
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'lease_until', now_ms + tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'claims', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'held', state, since, redis.call('HGETALL', KEYS[1])}
