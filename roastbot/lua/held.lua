-- Whether a holder still holds a mention in the state it saw (what a move checks first).
-- KEYS[1] the mention's state hash. ARGV[1] holder, ARGV[2] expected state.
-- Returns {1} when it does, else {0, state, holder}.
local owner = redis.call('HGET', KEYS[1], 'owner') or ''
local state = redis.call('HGET', KEYS[1], 'state') or ''
if owner ~= ARGV[1] or state ~= ARGV[2] then
  return {0, state, owner}
end
return {1}
