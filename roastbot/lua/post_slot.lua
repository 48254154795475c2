-- A waiting mention's post slot, when its turn has come: triage's turn (lua/triage.lua), then
-- one unit of the post quota (lua/quota_take.lua) in the same step.
-- KEYS[1] the post quota hash, KEYS[2] the waiting set.
-- ARGV[1] now (s), ARGV[2] mention id, ARGV[3] its score, ARGV[4] its age (s), ARGV[5] the
-- oldest age a reply may answer (s).
-- Returns {1 granted | 0, 1 in time | 0, wait (s), the reset of the window the unit was
-- counted in or 0, what it waits for: 'turn' (better ones go first), 'quota' (spent) or ''}.
local verdict = ops['triage'](KEYS, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 'turn'})
if verdict[1] == 0 then
  return {0, 0, '0', 0, ''}
end
if tonumber(verdict[2]) > 0 then
  return {0, 1, verdict[2], 0, 'turn'}
end
local slot = ops['quota_take'](KEYS, {ARGV[1], ARGV[2]})
if slot[1] ~= 0 then
  return {0, 1, tostring(slot[1] - tonumber(ARGV[1])), 0, 'quota'}
end
return {1, 1, '0', slot[2], ''}
