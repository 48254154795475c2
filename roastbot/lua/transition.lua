-- Move a claimed mention from the state its holder saw to the next one (the table in
-- roastbot/lifecycle.py decided which): compare-and-set on holder and state, in one step.
-- KEYS[1] the mention's state hash, KEYS[2] the approvals waiting list (sorted set),
-- KEYS[3] the conversation's reply log (sorted set), KEYS[4] the mentions waiting for a post
-- slot (sorted set; the score is the state hash's triage_score).
-- ARGV[1] holder, ARGV[2] expected state, ARGV[3] new state, ARGV[4] lease (ms),
-- ARGV[5] '1': hand the claim back (final or parked state), ARGV[6] '1': the life is finished,
-- ARGV[7] approvals list: 'park' | 'unpark' | '', ARGV[8] the mention id (its member there),
-- ARGV[9] a reply id to log or '', ARGV[10] reply log window (s), ARGV[11] '1': the new state
-- waits for a post slot, '0': it does not, '': leave the waiting set as it is, ARGV[12] the
-- bookkeeping of the state entered, written only with the move (JSON or ''; see below),
-- ARGV[13] number N of fields to set, then N field/value pairs, then names of fields stamped
-- with the time where absent.
-- Bookkeeping (roastbot/telemetry.py: Bookkeeping): {"count": [events], "latency": bucket or
-- "", "roast": a recent-roast record or "", "ttl": minute buckets' TTL (s), "cap": recent
-- roasts kept}; KEYS[5] the counter totals, KEYS[6] this minute's counters, KEYS[7] this
-- minute's latency histogram, KEYS[8] the recent roasts list. One round trip for the move and
-- its counters, and no counter without its move.
-- Returns {1} when written, else {0, state, holder}.
local owner = redis.call('HGET', KEYS[1], 'owner') or ''
local state = redis.call('HGET', KEYS[1], 'state') or ''
if owner ~= ARGV[1] or state ~= ARGV[2] then
  return {0, state, owner}
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_s = string.format('%.3f', now_ms / 1000)
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'updated_at', now_s)
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'owner', '', 'lease_until', 0)
else
  redis.call('HSET', KEYS[1], 'lease_until', now_ms + tonumber(ARGV[4]))
end
local n = tonumber(ARGV[13])
local i = 14
while i < 14 + 2 * n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], now_s)
  end
  i = i + 1
end
local mention_id = ARGV[8]
if ARGV[7] == 'park' then
  redis.call('ZADD', KEYS[2], now_ms / 1000, mention_id)
  redis.call('HSET', KEYS[1], 'parked_at', now_s)
elseif ARGV[7] == 'unpark' then
  redis.call('ZREM', KEYS[2], mention_id)
end
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[1], 'finished_at', now_s)
  redis.call('HDEL', KEYS[1], 'mention')
  redis.call('ZREM', KEYS[2], mention_id)
end
if ARGV[11] == '1' then
  local score = redis.call('HGET', KEYS[1], 'triage_score')
  if score then
    redis.call('ZADD', KEYS[4], tonumber(score), mention_id)
  end
elseif ARGV[11] == '0' then
  redis.call('ZREM', KEYS[4], mention_id)
end
if ARGV[9] ~= '' then
  local window = tonumber(ARGV[10])
  redis.call('ZADD', KEYS[3], now_ms / 1000, ARGV[9])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], 0, now_ms / 1000 - window)
  redis.call('EXPIRE', KEYS[3], math.ceil(window))
end
if ARGV[12] ~= '' then
  local book = cjson.decode(ARGV[12])
  for _, event in ipairs(book['count']) do
    redis.call('HINCRBY', KEYS[5], event, 1)
    redis.call('HINCRBY', KEYS[6], event, 1)
  end
  if #book['count'] > 0 then
    redis.call('EXPIRE', KEYS[6], book['ttl'])
  end
  if book['latency'] ~= '' then
    redis.call('HINCRBY', KEYS[7], book['latency'], 1)
    redis.call('EXPIRE', KEYS[7], book['ttl'])
  end
  if book['roast'] ~= '' then
    redis.call('LPUSH', KEYS[8], book['roast'])
    redis.call('LTRIM', KEYS[8], 0, book['cap'] - 1)
  end
end
return {1}
