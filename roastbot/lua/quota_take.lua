-- Atomically take one unit of quota unless the window is known to be spent.
-- KEYS[1] the quota hash. ARGV[1] now, and optionally a mention that leaves the waiting set KEYS[2] with the unit, in the
-- same step: triage counts a waiting mention ahead of others and a unit taken as spent, so a
-- mention counted as both for a moment made triage skip another that the quota could reach.
-- Returns {wait, window}: wait is 0 when the caller may go ahead, else a time (Unix
-- seconds) to wait for; window is the reset of the known window the unit was counted in, or 0.
-- X opens a window on the first call after the last one ended, so once the known window is
-- over the next one is counted here from its limit ("assumed") until its first answer says
-- how much is left and when it ends: callers racing into a new window are counted too.
local function take()
  local q = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset', 'assumed', 'assumed_at')
  local limit, remaining, reset = tonumber(q[1]), tonumber(q[2]), tonumber(q[3])
  local now = tonumber(ARGV[1])
  if remaining == nil or reset == nil then
    return {0, 0}
  end
  local assumed = q[4] == '1'
  if reset <= now and (not assumed or now - tonumber(q[5] or '0') > 60) then
    if limit == nil or limit <= 0 then
      return {0, 0}
    end
    redis.call('HSET', KEYS[1], 'remaining', limit - 1, 'assumed', '1', 'assumed_at', now)
    return {0, 0}
  end
  if remaining <= 0 then
    if reset > now then
      return {reset, 0}
    end
    return {now + 1, 0}
  end
  redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  return {0, reset}
end
local result = take()
if result[1] == 0 and ARGV[2] and ARGV[2] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[2])  -- its slot taken, it waits no more (lua/triage.lua)
end
return result
