"""The journal's hash chain and Merkle root, checked against hashlib directly."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccx.ledger import chain
from ccx.ledger.types import Transfer, TransferFlags

TRANSFER = Transfer(
    id=11,
    debit_account_id=22,
    credit_account_id=33,
    amount=4_000_000,
    ledger=5,
    code=6,
    flags=TransferFlags.PENDING | TransferFlags.LINKED,
    pending_id=0,
    timeout_s=60,
    user_data_64=77,
    user_data_32=88,
    timestamp_ns=1_767_225_600_000_000_001,
)
PREVIOUS = hashlib.sha256(b"previous entry").digest()


def be(value: int, width: int) -> bytes:
    return value.to_bytes(width, "big", signed=True)


def test_a_stored_rows_fields_encode_as_the_transfer_does() -> None:
    # The sealer encodes rows straight from their columns, in TRANSFER_FIELDS order.
    fields = [int(getattr(TRANSFER, name)) for name in chain.TRANSFER_FIELDS]
    assert chain.encode_transfer_fields(fields) == chain.encode_transfer(TRANSFER)
    assert {f.name for f in dataclasses.fields(Transfer)} == set(chain.TRANSFER_FIELDS)


def test_a_transfer_is_encoded_as_fixed_width_big_endian_fields() -> None:
    expected = b"".join(
        [
            be(11, 8),
            be(22, 8),
            be(33, 8),
            be(4_000_000, 8),
            be(5, 4),
            be(6, 4),
            be(int(TransferFlags.PENDING | TransferFlags.LINKED), 4),
            be(0, 8),
            be(60, 4),
            be(77, 8),
            be(88, 4),
            be(1_767_225_600_000_000_001, 8),
        ]
    )
    assert chain.encode_transfer(TRANSFER) == expected


def test_an_expiry_is_encoded_as_hold_id_and_timestamp() -> None:
    assert chain.encode_expiry(11, 99) == be(11, 8) + be(99, 8)


def test_entry_hash_is_sha256_of_previous_sequence_kind_and_encoding() -> None:
    encoding = chain.encode_transfer(TRANSFER)
    expected = hashlib.sha256(PREVIOUS + be(7, 8) + bytes([1]) + encoding).digest()
    assert chain.entry_hash(PREVIOUS, 7, chain.EntryKind.TRANSFER, encoding) == expected
    expiry = chain.encode_expiry(11, 99)
    expected_expiry = hashlib.sha256(PREVIOUS + be(8, 8) + bytes([2]) + expiry).digest()
    assert chain.entry_hash(PREVIOUS, 8, chain.EntryKind.EXPIRY, expiry) == expected_expiry


def test_the_genesis_hash_is_all_zeros() -> None:
    assert bytes(32) == chain.GENESIS_HASH


FIELD_CHANGES: dict[str, Any] = {
    "id": 12,
    "debit_account_id": 23,
    "credit_account_id": 34,
    "amount": 4_000_001,
    "ledger": 4,
    "code": 7,
    "flags": TransferFlags.PENDING,
    "pending_id": 1,
    "timeout_s": 61,
    "user_data_64": 78,
    "user_data_32": 89,
    "timestamp_ns": 1_767_225_600_000_000_002,
}


def test_every_transfer_field_is_covered_by_a_change() -> None:
    assert set(FIELD_CHANGES) == {f.name for f in dataclasses.fields(Transfer)}


@pytest.mark.parametrize(("name", "value"), FIELD_CHANGES.items())
def test_changing_any_transfer_field_changes_the_hash(name: str, value: Any) -> None:
    changed = dataclasses.replace(TRANSFER, **{name: value})
    original = chain.entry_hash(
        PREVIOUS, 1, chain.EntryKind.TRANSFER, chain.encode_transfer(TRANSFER)
    )
    assert (
        chain.entry_hash(PREVIOUS, 1, chain.EntryKind.TRANSFER, chain.encode_transfer(changed))
        != original
    )


def test_the_previous_hash_sequence_and_kind_all_change_the_hash() -> None:
    encoding = chain.encode_expiry(11, 99)
    base = chain.entry_hash(PREVIOUS, 1, chain.EntryKind.EXPIRY, encoding)
    other_previous = hashlib.sha256(b"another").digest()
    assert chain.entry_hash(other_previous, 1, chain.EntryKind.EXPIRY, encoding) != base
    assert chain.entry_hash(PREVIOUS, 2, chain.EntryKind.EXPIRY, encoding) != base
    assert chain.entry_hash(PREVIOUS, 1, chain.EntryKind.TRANSFER, encoding) != base
    assert chain.entry_hash(PREVIOUS, 1, chain.EntryKind.EXPIRY, chain.encode_expiry(11, 98)) != (
        base
    )


def test_a_chain_of_entries_depends_on_every_earlier_entry() -> None:
    encodings = [chain.encode_expiry(i, i * 10) for i in range(1, 6)]

    def head(items: list[bytes]) -> bytes:
        previous = chain.GENESIS_HASH
        for sequence, encoding in enumerate(items, start=1):
            previous = chain.entry_hash(previous, sequence, chain.EntryKind.EXPIRY, encoding)
        return previous

    original = head(encodings)
    for position in range(len(encodings)):
        altered = list(encodings)
        altered[position] = chain.encode_expiry(position + 100, 0)
        assert head(altered) != original
    assert head(encodings[::-1]) != original


def leaf(value: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + value).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


H = [hashlib.sha256(bytes([i])).digest() for i in range(5)]


def test_merkle_root_of_nothing_is_the_genesis_hash() -> None:
    assert chain.merkle_root([]) == chain.GENESIS_HASH


def test_merkle_root_of_one_entry_is_its_leaf_hash() -> None:
    assert chain.merkle_root(H[:1]) == leaf(H[0])


def test_merkle_root_of_two_entries() -> None:
    assert chain.merkle_root(H[:2]) == node(leaf(H[0]), leaf(H[1]))


def test_merkle_root_of_three_entries_carries_the_odd_leaf_up() -> None:
    assert chain.merkle_root(H[:3]) == node(node(leaf(H[0]), leaf(H[1])), leaf(H[2]))


def test_a_repeated_last_entry_changes_the_root() -> None:
    assert chain.merkle_root([*H[:3], H[2]]) != chain.merkle_root(H[:3])


def test_merkle_root_of_four_entries() -> None:
    expected = node(node(leaf(H[0]), leaf(H[1])), node(leaf(H[2]), leaf(H[3])))
    assert chain.merkle_root(H[:4]) == expected


def test_merkle_root_of_five_entries_carries_the_odd_node_up_each_level() -> None:
    level1 = [node(leaf(H[0]), leaf(H[1])), node(leaf(H[2]), leaf(H[3])), leaf(H[4])]
    level2 = [node(level1[0], level1[1]), level1[2]]
    assert chain.merkle_root(H) == node(level2[0], level2[1])


def test_a_leaf_is_not_confused_with_an_inner_node() -> None:
    # Domain separation: a single "entry" equal to the concatenation of two leaf hashes does
    # not give the root of those two leaves.
    two = chain.merkle_root(H[:2])
    assert chain.merkle_root([leaf(H[0]) + leaf(H[1])]) != two


@given(
    leaves=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=20, unique=True),
    data=st.data(),
)
def test_changing_or_swapping_any_leaf_changes_the_root(
    leaves: list[bytes], data: st.DataObject
) -> None:
    root = chain.merkle_root(leaves)
    position = data.draw(st.integers(0, len(leaves) - 1))
    replacement = data.draw(st.binary(min_size=32, max_size=32).filter(lambda b: b not in leaves))
    changed = [*leaves[:position], replacement, *leaves[position + 1 :]]
    assert chain.merkle_root(changed) != root
    other = data.draw(
        st.integers(0, len(leaves) - 1).filter(lambda i: i != position or len(leaves) == 1)
    )
    swapped = list(leaves)
    swapped[position], swapped[other] = swapped[other], swapped[position]
    assert (chain.merkle_root(swapped) == root) == (swapped == leaves)
    assert chain.merkle_root(leaves[:-1]) != root
