"""Inter-rater agreement: percent agreement, Cohen's kappa, quadratic weighted kappa."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.agreement import (
    Agreement,
    agreement,
    cohens_kappa,
    percent_agreement,
    quadratic_weighted_kappa,
)

LEVELS = ("emerging", "developing", "proficient", "expert")

# Cohen's classic example: 50 pairs, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
CLASSIC = (
    [("yes", "yes")] * 20
    + [("yes", "no")] * 5
    + [("no", "yes")] * 10
    + [("no", "no")] * 15
)

level = st.sampled_from(LEVELS)
pairs_of_levels = st.lists(st.tuples(level, level), max_size=60)
nonempty_pairs = st.lists(st.tuples(level, level), min_size=1, max_size=60)
yes_no_pairs = st.lists(
    st.tuples(st.sampled_from("yn"), st.sampled_from("yn")), min_size=1, max_size=60
)


# ---- known values ------------------------------------------------------------------


def test_classic_cohen_example_gives_po_0_7_and_kappa_0_4() -> None:
    assert percent_agreement(CLASSIC) == 0.7
    assert cohens_kappa(CLASSIC) == 0.4
    assert agreement(CLASSIC) == Agreement(pairs=50, percent=0.7, kappa=0.4)


def test_three_levels_by_hand() -> None:
    # n=6, 3 agree: po = 1/2; each rater uses each level twice: pe = 1/3;
    # kappa = (1/2 - 1/3) / (2/3) = 1/4. Quadratic: sum d^2 observed = 1+1+4 = 6,
    # sum d^2 expected = 4 * 12 / 6 = 8, so kappa_w = 1 - 6/8 = 1/4.
    pairs = [(1, 1), (2, 2), (3, 3), (1, 2), (2, 3), (3, 1)]
    assert percent_agreement(pairs) == 0.5
    assert cohens_kappa(pairs) == 0.25
    assert quadratic_weighted_kappa(pairs, [1, 2, 3]) == 0.25


def test_quadratic_weights_punish_far_disagreements_more() -> None:
    near = [("emerging", "emerging"), ("expert", "expert")] * 5 + [
        ("developing", "proficient"),
        ("proficient", "developing"),
    ]
    far = [("emerging", "emerging"), ("expert", "expert")] * 5 + [
        ("emerging", "expert"),
        ("expert", "emerging"),
    ]
    # Unweighted, both disagree on the same number of pairs.
    assert percent_agreement(near) == percent_agreement(far)
    near_kappa = quadratic_weighted_kappa(near, LEVELS)
    far_kappa = quadratic_weighted_kappa(far, LEVELS)
    assert near_kappa is not None
    assert far_kappa is not None
    assert near_kappa > far_kappa


def test_perfect_agreement_is_kappa_1() -> None:
    pairs = [(lv, lv) for lv in LEVELS] * 3
    assert agreement(pairs) == Agreement(12, 1.0, 1.0)
    assert quadratic_weighted_kappa(pairs, LEVELS) == 1.0


def test_systematic_disagreement_is_negative_kappa() -> None:
    pairs = [("yes", "no"), ("no", "yes")] * 5
    assert agreement(pairs) == Agreement(10, 0.0, -1.0)


def test_opposite_ends_of_the_scale_give_weighted_kappa_minus_1() -> None:
    pairs = [("emerging", "expert"), ("expert", "emerging")] * 3
    assert quadratic_weighted_kappa(pairs, LEVELS) == -1.0


# ---- undefined and degenerate cases --------------------------------------------


def test_no_pairs_is_undefined() -> None:
    assert agreement([]) == Agreement(pairs=0, percent=None, kappa=None)
    assert percent_agreement([]) is None
    assert cohens_kappa([]) is None
    assert quadratic_weighted_kappa([], LEVELS) is None


def test_both_raters_always_giving_one_category_is_kappa_1() -> None:
    # Chance agreement is 1, so kappa is 0/0; the raters agreed on every pair.
    pairs = [("proficient", "proficient")] * 7
    assert agreement(pairs) == Agreement(7, 1.0, 1.0)
    assert quadratic_weighted_kappa(pairs, LEVELS) == 1.0


def test_one_rater_always_giving_one_category_is_kappa_0_when_both_used_it() -> None:
    # Rater A always says "yes"; chance agreement equals observed agreement.
    pairs = [("yes", "yes")] * 3 + [("yes", "no")]
    assert percent_agreement(pairs) == 0.75
    assert cohens_kappa(pairs) == 0.0


def test_a_single_category_scale_is_kappa_1() -> None:
    assert quadratic_weighted_kappa([("pass", "pass")] * 3, ["pass"]) == 1.0


def test_a_rating_outside_the_categories_is_refused() -> None:
    with pytest.raises(ValueError, match="'master' is not one of the categories"):
        quadratic_weighted_kappa([("expert", "master")], LEVELS)


@pytest.mark.parametrize("categories", [[], ["a", "b", "a"]])
def test_categories_must_list_each_level_once(categories: list[str]) -> None:
    with pytest.raises(ValueError, match="each level once"):
        quadratic_weighted_kappa([("a", "a")], categories)


def test_pairs_may_be_any_iterable_read_once() -> None:
    assert agreement(iter(CLASSIC)) == Agreement(50, 0.7, 0.4)
    assert cohens_kappa(pair for pair in CLASSIC) == 0.4
    assert quadratic_weighted_kappa(iter(CLASSIC), ["no", "yes"]) == 0.4


# ---- properties --------------------------------------------------------------------


@given(nonempty_pairs)
def test_measures_stay_in_range(pairs: list[tuple[str, str]]) -> None:
    result = agreement(pairs)
    assert result.pairs == len(pairs)
    assert result.percent is not None
    assert result.kappa is not None
    assert 0.0 <= result.percent <= 1.0
    assert -1.0 <= result.kappa <= 1.0
    weighted = quadratic_weighted_kappa(pairs, LEVELS)
    assert weighted is not None
    assert weighted <= 1.0


@given(nonempty_pairs)
def test_kappa_is_1_exactly_when_the_raters_always_agree(
    pairs: list[tuple[str, str]],
) -> None:
    always_agree = all(a == b for a, b in pairs)
    assert (cohens_kappa(pairs) == 1.0) == always_agree
    assert (quadratic_weighted_kappa(pairs, LEVELS) == 1.0) == always_agree


@given(pairs_of_levels)
def test_swapping_the_raters_changes_nothing(pairs: list[tuple[str, str]]) -> None:
    swapped = [(b, a) for a, b in pairs]
    assert agreement(swapped) == agreement(pairs)
    assert quadratic_weighted_kappa(swapped, LEVELS) == quadratic_weighted_kappa(
        pairs, LEVELS
    )


@given(pairs_of_levels, st.randoms(use_true_random=False))
def test_order_of_pairs_and_names_of_categories_change_nothing(
    pairs: list[tuple[str, str]], rng: random.Random
) -> None:
    shuffled = rng.sample(pairs, len(pairs))
    renamed = {lv: f"band-{i}" for i, lv in enumerate(rng.sample(LEVELS, 4))}
    relabelled = [(renamed[a], renamed[b]) for a, b in shuffled]
    expected = agreement(pairs)
    result = agreement(relabelled)
    assert result.pairs == expected.pairs
    assert result.percent == expected.percent
    if expected.kappa is None:
        assert result.kappa is None
    else:
        assert result.kappa is not None
        assert math.isclose(result.kappa, expected.kappa, abs_tol=1e-12)


@given(yes_no_pairs)
def test_weighted_kappa_with_two_levels_is_cohens_kappa(
    pairs: list[tuple[str, str]],
) -> None:
    assert quadratic_weighted_kappa(pairs, ["n", "y"]) == cohens_kappa(pairs)
