"""The summary's statistics (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ccx.demo.summary import gini_milli, percentile, top_share_milli


def test_gini_of_known_distributions() -> None:
    assert gini_milli([5, 5, 5, 5]) == 0
    assert gini_milli([0, 0, 0, 100]) == 750  # one of four holds everything: (n-1)/n
    assert gini_milli([1, 2, 3, 4]) == 250
    assert gini_milli([]) == gini_milli([0, 0]) == 0


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=50))
def test_gini_is_between_zero_and_one_and_ignores_order(values: list[int]) -> None:
    assert 0 <= gini_milli(values) < 1000
    assert gini_milli(values) == gini_milli(list(reversed(values)))


def test_top_share_and_percentiles() -> None:
    assert top_share_milli([1] * 20, 10) == 500
    assert top_share_milli([90, 5, 5], 1) == 900
    assert top_share_milli([], 10) == 0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([], 0.95) == 0.0
