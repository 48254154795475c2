-- Reserve a post's or an LLM call's price against the day's budget (roastbot/spend.py).
-- KEYS[1] the day's hash, KEYS[2] the budget hold. ARGV[1] amount, ARGV[2] configured cap
-- (-1: none), ARGV[3] hold record, ARGV[4] hold TTL (ms), ARGV[5] day TTL (s), ARGV[6] raise
-- the hold (1/0). Returns 1 granted, 0 refused, 2 refused and the hold newly raised.
local amount = tonumber(ARGV[1])
local cap = tonumber(redis.call('HGET', KEYS[1], 'cap') or ARGV[2])
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
redis.call('EXPIRE', KEYS[1], ARGV[5])
if cap >= 0 and (redis.call('HEXISTS', KEYS[1], 'reached') == 1 or total + amount > cap) then
  if ARGV[6] == '0' then return 0 end  -- a soft reservation (tracker reads): refused, no hold
  redis.call('HSET', KEYS[1], 'reached', '1')
  if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
    return 2
  end
  return 0
end
redis.call('HINCRBY', KEYS[1], 'total', amount)
-- Granted: today's budget is not spent, so a hold left from an earlier day is stale.
redis.call('DEL', KEYS[2])
return 1
