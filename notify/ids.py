"""Time-ordered UUIDs (RFC 9562 version 7).

Primary keys that grow with time keep B-tree inserts at the right edge of the index and give
cursor pagination a stable order; Python 3.11's uuid module has no uuid7 yet.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    # One read of the OS's randomness for both fields: each os.urandom is a system call,
    # and an accepted batch item makes two or three ids.
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = (rand >> 64) & 0x0FFF
    rand_b = rand & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76 | rand_a << 64
    value |= 0b10 << 62 | rand_b  # RFC 4122 variant
    return uuid.UUID(int=value)
