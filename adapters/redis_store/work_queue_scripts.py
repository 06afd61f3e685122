"""The Lua of the Redis work queue: each call one atomic step of the server.

Keys (under the store's prefix): `wq:item:<uid>` a hash per item (kind, bdb, payload,
order, not_before, attempt, last_error, worker); `wq:ready` the items waiting, scored
by their fair order (turn * 2^32 + arrival); `wq:leased` the claimed items, scored by
their lease deadline in the server's milliseconds; `wq:busy` database → the uid running
on it; `wq:count` database → its items present (a new item's turn); `wq:stats` the
counters; `wq:wake` a list the waiting workers `BLPOP`.

Every script takes the same KEYS, in `KEYS_ORDER`, and ARGV[1] the item key prefix.
"""

from __future__ import annotations

KEYS_ORDER = ("ready", "leased", "busy", "count", "stats", "wake", "seq")

PRELUDE = """
local READY, LEASED, BUSY, COUNT, STATS, WAKE, SEQ =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local ITEM = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function wake()
  redis.call('LPUSH', WAKE, '1')
  redis.call('LTRIM', WAKE, 0, 63)
end
local function held(uid, worker, attempt)
  local f = redis.call('HMGET', ITEM .. uid, 'worker', 'attempt')
  return f[1] == worker and f[2] == attempt
end
local function unbusy(uid)
  local bdb = redis.call('HGET', ITEM .. uid, 'bdb')
  if redis.call('HGET', BUSY, bdb) == uid then redis.call('HDEL', BUSY, bdb) end
end
"""

ENQUEUE = (
    PRELUDE
    + """
local uid = ARGV[2]
if redis.call('EXISTS', ITEM .. uid) == 1 then return 0 end
local seq = redis.call('INCR', SEQ)
local turn = redis.call('HINCRBY', COUNT, ARGV[4], 1) - 1
local order = turn * 4294967296 + seq
redis.call('HSET', ITEM .. uid, 'kind', ARGV[3], 'bdb', ARGV[4], 'payload', ARGV[5],
           'order', order, 'not_before', 0, 'attempt', 0)
redis.call('ZADD', READY, order, uid)
wake()
return 1
"""
)

CLAIM = (
    PRELUDE
    + """
local worker, lease, max_running, lapsed = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
for _, uid in ipairs(redis.call('ZRANGEBYSCORE', LEASED, '-inf', now)) do
  redis.call('ZREM', LEASED, uid)
  unbusy(uid)
  redis.call('ZADD', READY, redis.call('HGET', ITEM .. uid, 'order'), uid)
end
if redis.call('ZCARD', LEASED) >= max_running then return false end
local start = 0
while true do
  local batch = redis.call('ZRANGE', READY, start, start + 99)
  if #batch == 0 then return false end
  for _, uid in ipairs(batch) do
    local key = ITEM .. uid
    local f = redis.call('HMGET', key, 'bdb', 'not_before', 'worker')
    if redis.call('HEXISTS', BUSY, f[1]) == 0 and (f[3] or tonumber(f[2]) <= now) then
      redis.call('ZREM', READY, uid)
      local attempt = redis.call('HINCRBY', key, 'attempt', 1)
      if f[3] then
        local at = string.find(lapsed, '{worker}', 1, true)
        redis.call('HSET', key, 'last_error',
                   string.sub(lapsed, 1, at - 1) .. f[3] .. string.sub(lapsed, at + 8))
        redis.call('HINCRBY', STATS, 'lapsed', 1)
      end
      redis.call('HSET', key, 'worker', worker)
      redis.call('ZADD', LEASED, now + lease, uid)
      redis.call('HSET', BUSY, f[1], uid)
      redis.call('HINCRBY', STATS, 'claims', 1)
      local r = redis.call('HMGET', key, 'kind', 'payload', 'last_error')
      return {uid, r[1], f[1], r[2], attempt, r[3] and 1 or 0, r[3] or ''}
    end
  end
  start = start + 100
end
"""
)

HEARTBEAT = (
    PRELUDE
    + """
local uid = ARGV[2]
if not held(uid, ARGV[3], ARGV[4]) then return 0 end
local until_ = redis.call('ZSCORE', LEASED, uid)
if not until_ or tonumber(until_) <= now then return 0 end
redis.call('ZADD', LEASED, now + tonumber(ARGV[5]), uid)
return 1
"""
)

COMPLETE = (
    PRELUDE
    + """
local uid = ARGV[2]
if not held(uid, ARGV[3], ARGV[4]) then return 0 end
redis.call('ZREM', LEASED, uid)
redis.call('ZREM', READY, uid)
unbusy(uid)
local bdb = redis.call('HGET', ITEM .. uid, 'bdb')
if redis.call('HINCRBY', COUNT, bdb, -1) <= 0 then redis.call('HDEL', COUNT, bdb) end
redis.call('DEL', ITEM .. uid)
redis.call('HINCRBY', STATS, 'completions', 1)
wake()
return 1
"""
)

REQUEUE = (
    PRELUDE
    + """
local uid, counter = ARGV[2], ARGV[5]
if not held(uid, ARGV[3], ARGV[4]) then return 0 end
local key = ITEM .. uid
redis.call('ZREM', LEASED, uid)
unbusy(uid)
redis.call('HDEL', key, 'worker')
redis.call('HSET', key, 'not_before', now + tonumber(ARGV[6]))
if counter == 'retries' then
  redis.call('HSET', key, 'last_error', ARGV[7])
else
  redis.call('HINCRBY', key, 'attempt', -1)
end
redis.call('ZADD', READY, redis.call('HGET', key, 'order'), uid)
redis.call('HINCRBY', STATS, counter, 1)
wake()
return 1
"""
)

QUEUED = (
    PRELUDE
    + """
local counts = {}
for _, uid in ipairs(redis.call('ZRANGE', READY, 0, -1)) do
  local f = redis.call('HMGET', ITEM .. uid, 'kind', 'worker')
  if not f[2] then counts[f[1]] = (counts[f[1]] or 0) + 1 end
end
local out = {}
for kind, n in pairs(counts) do
  table.insert(out, kind)
  table.insert(out, n)
end
local holders = {}
for _, uid in ipairs(redis.call('ZRANGEBYSCORE', LEASED, '(' .. now, '+inf')) do
  table.insert(holders, redis.call('HGET', ITEM .. uid, 'worker'))
  table.insert(holders, uid)
end
local lapsed = 0
for _, uid in ipairs(redis.call('ZRANGE', READY, 0, -1)) do
  if redis.call('HEXISTS', ITEM .. uid, 'worker') == 1 then lapsed = lapsed + 1 end
end
return {out, holders, redis.call('ZCARD', LEASED) + lapsed, now}
"""
)
