"""The Lua scripts every Redis adapter runs, sync and async alike.

One source for both keeps them byte-identical, so they share one SHA in the server's
script cache and cannot drift apart while both write the same keys.

A bdb's writes also keep the schedule index (`<prefix>bdbs:scheduled`, a sorted set
of the uids whose periodic backups are on, score = uid) in the same script, so the
index and the bdb never disagree: KEYS[2] is the index, the last two ARGV the uid
and whether the bdb written has `backup` on ("1") or not ("0").
"""

from __future__ import annotations

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'doc', ARGV[2])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[3]) end
return 1
"""

COMPARE_AND_SET = """
local current = redis.call('HGET', KEYS[1], 'rev')
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'doc', ARGV[3])
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[4])
else
  redis.call('ZREM', KEYS[2], ARGV[4])
end
return 1
"""

SCHEDULE_CANDIDATES = """
local found = {}
for i = 2, #KEYS do
  local stored = redis.call('HMGET', KEYS[i], 'rev', 'doc')
  if stored[1] and stored[2] then
    if string.find(stored[2], '"backup":true', 1, true) then
      found[#found + 1] = ARGV[i - 1]
      found[#found + 1] = stored[1]
      found[#found + 1] = stored[2]
    else
      redis.call('ZREM', KEYS[1], ARGV[i - 1])
    end
  end
end
return found
"""
"""A page of the schedule index's build (`schedule_index.py`): KEYS[1] is the index,
KEYS[2..] the bdbs, ARGV their uids. Returns (uid, revision, document) of each bdb
whose document may have `backup` on; one that surely has it off (no such text) is
taken out of the index at once, in this atomic step. A uid without a revision and a
document (an add that has not finished) is skipped: its own write indexes it."""

INDEX_SCHEDULES = """
for i = 2, #KEYS do
  local at = (i - 2) * 3
  if redis.call('HGET', KEYS[i], 'rev') == ARGV[at + 2] then
    if ARGV[at + 3] == '1' then
      redis.call('ZADD', KEYS[1], ARGV[at + 1], ARGV[at + 1])
    else
      redis.call('ZREM', KEYS[1], ARGV[at + 1])
    end
  end
end
return 1
"""
"""Indexes the candidates `SCHEDULE_CANDIDATES` returned, once parsed: KEYS[1] is the
index, KEYS[2..] the bdbs, ARGV (uid, revision read, "1"/"0") per bdb. A bdb whose
revision moved since it was read was written meanwhile by a script above, which
indexed it: it is left alone."""


def schedule_flag(backup: bool) -> str:
    """The last ARGV of `CREATE` and `COMPARE_AND_SET`."""
    return "1" if backup else "0"


REPLACE_FIELD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
"""Set a hash field only if it exists (a user's replacement): KEYS[1] the hash, ARGV the
field and its value."""


PUT_UNLESS_FINISHED = """
if redis.call('HGET', KEYS[1], 'done') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'done', ARGV[2])
return 1
"""
"""An action record's write (`async_action_log.py`): KEYS[1] its hash, ARGV its JSON and
"1" once finished; a finished record is never changed again."""
