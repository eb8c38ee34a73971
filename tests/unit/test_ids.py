"""Random and derived ids: positive, 63-bit, and stable where they must be."""

from __future__ import annotations

from ccx.ids import ID_MAX, derived_id, new_id, new_ids


def test_new_ids_draws_as_many_distinct_ids_in_range_as_asked() -> None:
    ids = new_ids(10_000)
    assert len(ids) == 10_000
    assert all(1 <= i <= ID_MAX for i in ids)
    assert len(set(ids)) == len(ids)
    assert max(ids).bit_length() == 63  # the top bit is used: 10,000 draws all below 2⁶² is 2⁻¹⁰⁰⁰⁰
    assert new_ids(0) == []


def test_new_id_is_in_range() -> None:
    assert all(1 <= new_id() <= ID_MAX for _ in range(1_000))


def test_derived_ids_are_stable_and_namespaced() -> None:
    assert derived_id("grant", 7, "a") == derived_id("grant", 7, "a")
    assert derived_id("grant", 7, "a") != derived_id("grant", 7, "b")
    assert derived_id("grant", 7) != derived_id("refund", 7)
    assert 1 <= derived_id("grant", 7) <= ID_MAX
