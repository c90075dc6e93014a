"""How a refund's fen falls on order lines: exact sums, never more than a line has left."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kernel.errors import Conflict
from services.kernel.money import split_fen
from services.registry.retired_tonnes import overlap_g, tonnes_of


def test_split_follows_the_grams_given_back():
    assert split_fen(7_000, [200_000, 500_000], [10_000, 5_000]) == [2_000, 5_000]


def test_a_line_with_nothing_left_gets_nothing_and_its_share_moves():
    # By grams the second line would get 1 fen, but it has none left.
    assert split_fen(3, [1, 1], [3, 0]) == [3, 0]


def test_no_grams_given_back_splits_by_what_is_left():
    assert split_fen(300, [0, 0], [200, 100]) == [200, 100]


def test_more_than_is_left_is_refused():
    with pytest.raises(Conflict):
        split_fen(301, [1, 1], [200, 100])


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**9)), min_size=1, max_size=8).flatmap(
        lambda lines: st.tuples(st.just(lines), st.integers(0, sum(cap for _w, cap in lines)))
    )
)
def test_parts_add_up_and_respect_every_cap(case):
    lines, total = case
    weights, caps = [w for w, _c in lines], [c for _w, c in lines]
    shares = split_fen(total, weights, caps)
    assert sum(shares) == total
    assert all(0 <= share <= cap for share, cap in zip(shares, caps, strict=True))
    if total == sum(caps):  # the last refund repays every line exactly what it had left
        assert shares == caps


@given(st.integers(0, 5 * 10**6), st.integers(1, 3 * 10**6))
def test_grams_cut_at_tonne_boundaries_add_up(start, length):
    end = start + length
    assert sum(overlap_g(start, end, tonne) for tonne in tonnes_of(start, end)) == length
    assert all(overlap_g(start, end, tonne) > 0 for tonne in tonnes_of(start, end))
