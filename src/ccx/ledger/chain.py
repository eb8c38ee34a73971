"""The journal's hash chain and Merkle root (pure).

Entry n's hash is SHA-256 over the previous hash, n, and a canonical fixed-width big-endian
encoding of the event. Anyone with the journal can recompute it; publishing the head and the
Merkle root at a sequence pins everything up to it.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Sequence

from ccx.ledger.types import Transfer

GENESIS_HASH = bytes(32)
_TRANSFER = struct.Struct(">qqqqiiiqiqiq")
_EXPIRY = struct.Struct(">qq")


class EntryKind(enum.IntEnum):
    TRANSFER = 1
    EXPIRY = 2


TRANSFER_FIELDS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "ledger",
    "code",
    "flags",
    "pending_id",
    "timeout_s",
    "user_data_64",
    "user_data_32",
    "timestamp_ns",
)
"""A transfer's fields in the order its encoding packs them."""


def encode_transfer_fields(fields: Sequence[int]) -> bytes:
    """The encoding of a transfer given as its TRANSFER_FIELDS values (a stored row's columns)."""
    return _TRANSFER.pack(*fields)


def encode_transfer(transfer: Transfer) -> bytes:
    return _TRANSFER.pack(
        transfer.id,
        transfer.debit_account_id,
        transfer.credit_account_id,
        transfer.amount,
        transfer.ledger,
        transfer.code,
        int(transfer.flags),
        transfer.pending_id,
        transfer.timeout_s,
        transfer.user_data_64,
        transfer.user_data_32,
        transfer.timestamp_ns,
    )


def encode_expiry(pending_id: int, timestamp_ns: int) -> bytes:
    return _EXPIRY.pack(pending_id, timestamp_ns)


def entry_hash(previous: bytes, sequence: int, kind: EntryKind, encoding: bytes) -> bytes:
    assert len(previous) == 32
    assert sequence >= 1
    digest = hashlib.sha256(previous)
    digest.update(struct.pack(">qB", sequence, int(kind)))
    digest.update(encoding)
    return digest.digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root of a binary Merkle tree over the entry hashes.

    Leaves and inner nodes are hashed with different prefixes, and an odd last node moves up a
    level unchanged (never paired with itself, so [a, b, c] and [a, b, c, c] differ).
    """
    if not leaves:
        return GENESIS_HASH
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = paired + level[len(paired) * 2 :]
    return level[0]
