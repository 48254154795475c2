-- Several operations in one round trip, in order, atomically: the ones named in `ops` (each
-- a script of this directory, run with its own KEYS and ARGV: roastbot/batch.py builds this
-- script from them) or a Redis command whose keys come first (HGETALL, ZADD...).
-- ARGV[1] the number of operations; then per operation: its name, its number of keys, its
-- number of arguments, '1' when it is a gate (else '0'), the answer the gate lets through,
-- then its arguments. KEYS are the operations' keys, one after another.
-- A gate whose answer (its first element, for a list) is not the one expected stops the
-- batch: nothing after it runs. Returns the answers of the operations that ran, in order.
local results = {}
local k, a = 1, 2
for i = 1, tonumber(ARGV[1]) do
  local name, nkeys, nargs = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local gated, expected = ARGV[a + 3] == '1', ARGV[a + 4]
  local op_keys, op_args = {}, {}
  for j = 1, nkeys do op_keys[j] = KEYS[k + j - 1] end
  for j = 1, nargs do op_args[j] = ARGV[a + 4 + j] end
  k, a = k + nkeys, a + 5 + nargs
  local result
  if ops[name] then
    result = ops[name](op_keys, op_args)
  else
    local call = {}
    for j = 1, nkeys do call[#call + 1] = op_keys[j] end
    for j = 1, nargs do call[#call + 1] = op_args[j] end
    result = redis.call(name, unpack(call))
  end
  if result == nil then result = false end
  results[i] = result
  if gated then
    local first = result
    if type(result) == 'table' then first = result[1] end
    if tostring(first) ~= expected then break end
  end
end
return results
