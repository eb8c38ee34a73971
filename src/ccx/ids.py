"""Identifiers.

Ledger ids (accounts, transfers) are positive 63-bit integers: they fit PostgreSQL's and
SQLite's signed 64-bit integers. TigerBeetle uses 128 bits; 63 bits keep the same model with
native integer keys. Callers choose ids; `new_id` draws a random one (`new_ids` many at once,
with one read of the system's random source instead of one each) and `derived_id` derives a
stable one from a namespaced key (so a retried operation reuses its id).
"""

from __future__ import annotations

import hashlib
import secrets
import struct

ID_MAX = 2**63 - 1


def new_id() -> int:
    """A random id in 1..ID_MAX (collision odds about n²/2⁶⁴ for n ids)."""
    while True:
        candidate = secrets.randbits(63)
        if candidate != 0:
            return candidate


def new_ids(count: int) -> list[int]:
    """`count` random ids in 1..ID_MAX, as `new_id` draws them one by one."""
    words = struct.unpack(f"<{count}Q", secrets.token_bytes(8 * count))
    ids = [word >> 1 for word in words]
    return [candidate or new_id() for candidate in ids]


def derived_id(namespace: str, *parts: object) -> int:
    """A stable id for the key (namespace, *parts): the same key always gives the same id."""
    assert namespace, "a derived id needs a namespace"
    key = "\x1f".join([namespace, *(str(part) for part in parts)]).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    value = int.from_bytes(digest, "big") & ID_MAX
    return value or 1
