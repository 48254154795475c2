-- Reserve a mention's slot in a conversation's window, then in its author's hour, unless a
-- limit is reached (a limit of 0 or less is no limit); idempotent per mention. When the
-- author's hour is full the conversation's slot is given back. Returns '' when both are
-- granted, else the limit that refused: 'conversation_limit' or 'author_limit'.
-- KEYS[1] the conversation's roasts, KEYS[2] the author's roasts (sorted sets, mention -> time).
-- ARGV[1] now (s), ARGV[2] mention id, ARGV[3] conversation limit, ARGV[4] its window (s),
-- ARGV[5] author limit, ARGV[6] the author's window (s).
local now, mention_id = tonumber(ARGV[1]), ARGV[2]
local function reserve(key, limit, window)
  if limit <= 0 then return true end
  redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
  if redis.call('ZSCORE', key, mention_id) then return true end
  if redis.call('ZCARD', key) >= limit then return false end
  redis.call('ZADD', key, now, mention_id)
  redis.call('EXPIRE', key, window)
  return true
end
if not reserve(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4])) then return 'conversation_limit' end
if not reserve(KEYS[2], tonumber(ARGV[5]), tonumber(ARGV[6])) then
  redis.call('ZREM', KEYS[1], mention_id)
  redis.call('ZREM', KEYS[2], mention_id)
  return 'author_limit'
end
return ''
