"""The Lua scripts every Redis adapter runs, sync and async alike.

One source for both keeps them byte-identical, so they share one SHA in the server's
script cache and cannot drift apart while both write the same keys.
"""

from __future__ import annotations

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'doc', ARGV[2])
return 1
"""

COMPARE_AND_SET = """
local current = redis.call('HGET', KEYS[1], 'rev')
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'doc', ARGV[3])
return 1
"""
