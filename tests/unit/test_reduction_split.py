"""How the proceeds of sold reductions are shared: exact to the point, pro rata to grams, deterministic."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reductions.proceeds import share_out
from services.reductions.reduction_policy import ReductionPolicy

contributors = st.dictionaries(st.integers(1, 10**9), st.integers(1, 10**8), min_size=1, max_size=40)


@given(contributors, st.integers(0, 10**12), st.randoms(use_true_random=False))
def test_the_parts_add_up_exactly_and_are_each_a_rounding_of_the_exact_share(grams, total, rng):
    pairs = list(grams.items())
    rng.shuffle(pairs)
    parts = dict(share_out(total, pairs))
    assert sum(parts.values()) == total
    whole = sum(grams.values())
    for user, part in parts.items():
        exact = Fraction(total * grams[user], whole)
        assert exact - 1 < part < exact + 1
    # More grams never earn less.
    by_grams = sorted(grams, key=lambda user: grams[user])
    for low, high in pairwise(by_grams):
        assert grams[low] == grams[high] or parts[low] <= parts[high]


@given(contributors, st.integers(0, 10**9), st.randoms(use_true_random=False))
def test_the_split_does_not_depend_on_the_order_it_is_given(grams, total, rng):
    pairs = list(grams.items())
    first = share_out(total, pairs)
    rng.shuffle(pairs)
    assert share_out(total, pairs) == first
    assert [user for user, _part in first] == sorted(grams)


def test_a_tie_goes_to_the_lower_user_id():
    assert share_out(1, [(9, 5), (4, 5)]) == [(4, 1), (9, 0)]
    assert share_out(2, [(3, 1), (1, 1), (2, 1)]) == [(1, 1), (2, 1), (3, 0)]


def test_a_weight_of_nothing_is_refused():
    with pytest.raises(ValueError):
        share_out(10, [(1, 0), (2, 3)])
    assert share_out(10, []) == []


@given(st.integers(0, 10**12), st.integers(0, 1000))
def test_the_operator_share_rounds_down_and_leaves_the_rest(amount, permille):
    policy = ReductionPolicy(operator_share_permille=permille)
    operator = policy.operator_fen(amount)
    assert 0 <= operator <= amount
    assert operator == int(Fraction(amount * permille, 1000))
