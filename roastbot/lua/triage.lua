-- Quota triage: when does the posting quota reach a mention, and is that soon enough?
-- KEYS[1] the post quota hash (roastbot/quota.py), KEYS[2] the waiting set (mention id ->
-- triage score, higher first).
-- ARGV[1] now (s), ARGV[2] mention id, ARGV[3] its score, ARGV[4] its age (s), ARGV[5] the
-- oldest age a reply may answer (s), ARGV[6] mode: 'admit' (mentions already waiting all go
-- first; joins the set when in time), 'turn' (a waiting mention: the ones scored above it
-- go first), 'probe' (as admit, joins nothing: what triage would do now).
-- Returns {1|0 in time, wait (s, as a string), mentions ahead}. The wait is the earliest slot
-- the quota X reported allows: while nothing is known (no answer to a POST yet) it is 0.
local q = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset', 'window_s')
local limit, remaining, reset = tonumber(q[1]) or -1, tonumber(q[2]), tonumber(q[3])
local window = tonumber(q[4]) or 0
local now, mention_id, mode = tonumber(ARGV[1]), ARGV[2], ARGV[6]
local ahead
if mode == 'turn' then
  ahead = redis.call('ZREVRANK', KEYS[2], mention_id) or redis.call('ZCARD', KEYS[2])
else
  ahead = redis.call('ZCARD', KEYS[2])
  if redis.call('ZSCORE', KEYS[2], mention_id) then
    ahead = ahead - 1
  end
end
local wait = 0
if remaining ~= nil and reset ~= nil then
  if reset <= now then
    -- The window is over: the next POST opens a new one with the whole limit.
    if limit > 0 then
      wait = math.floor(ahead / limit) * window
    end
  elseif ahead >= remaining then
    wait = reset - now
    if limit > 0 then
      wait = wait + math.floor((ahead - remaining) / limit) * window
    end
  end
end
local in_time = tonumber(ARGV[4]) + wait <= tonumber(ARGV[5])
if in_time and mode == 'admit' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), mention_id)
end
return {in_time and 1 or 0, tostring(wait), ahead}
