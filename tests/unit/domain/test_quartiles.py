"""Peer statistics: deterministic quartile cut points, ties in the better quartile, fast index."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.eligibility import PersonFacts
from lti_tool.domain.quartiles import (
    Group,
    GroupStats,
    PeerIndex,
    group_key,
    group_stats,
    quartile,
)

KPI = "call_resolution"
PERIOD = "2026-Q3"
GROUP: Group = (("site", "Site A"), ("line_of_business", "Billing"))
BY_SITE_AND_LINE = ("site", "line_of_business")


def person(
    person_id: int,
    site: str | None = "Site A",
    line: str | None = "Billing",
    kpis: Mapping[str, Mapping[str, float]] | None = None,
) -> PersonFacts:
    """Return a person with only what peer statistics read."""
    return PersonFacts(
        person_id=person_id,
        hire_date=None,
        site=site,
        line_of_business=line,
        disciplinary_action=False,
        performance_improvement_plan=False,
        review_score=None,
        kpis=kpis or {},
    )


def stats_of(values: list[float]) -> GroupStats:
    """Return the statistics of values in the test group."""
    return group_stats(values, KPI, PERIOD, GROUP)


def quartiles_of(values: list[float]) -> list[int]:
    """Return each value's quartile within the population."""
    stats = stats_of(values)
    return [quartile(value, stats) for value in values]


# Hundredths of a percent, as KPI figures come: exact order, no rounding surprises.
percent = st.integers(min_value=0, max_value=10_000).map(lambda i: i / 100)
populations = st.lists(percent, min_size=1, max_size=200)
distinct_populations = st.lists(percent, min_size=1, max_size=200, unique=True)


# ---- cut points and quartiles -------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q1_min", "q2_min", "q3_min"),
    [
        pytest.param([90, 80, 70, 60], 90, 80, 70, id="four-values"),
        pytest.param(list(range(1, 9)), 7, 5, 3, id="eight-values"),
        # n = 5: ranks ceil(5/4)=2, ceil(5/2)=3, ceil(15/4)=4.
        pytest.param([50, 40, 30, 20, 10], 40, 30, 20, id="five-values"),
        pytest.param([77], 77, 77, 77, id="single-value"),
        pytest.param([70, 80, 90], 90, 80, 70, id="three-values"),
    ],
)
def test_cut_points_are_values_at_ranks_n_over_4_n_over_2_3n_over_4(
    values: list[float], q1_min: float, q2_min: float, q3_min: float
) -> None:
    stats = stats_of(values)
    assert (stats.q1_min, stats.q2_min, stats.q3_min) == (q1_min, q2_min, q3_min)
    assert stats.count == len(values)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(100.0, 1, id="above-top"),
        pytest.param(91.0, 1, id="exactly-q1-min"),
        pytest.param(90.99, 2, id="just-below-q1-min"),
        pytest.param(81.0, 2, id="exactly-q2-min-is-q2"),
        pytest.param(80.99, 3, id="just-below-q2-min-is-q3"),
        pytest.param(70.0, 3, id="exactly-q3-min"),
        pytest.param(69.99, 4, id="just-below-q3-min"),
        pytest.param(0.0, 4, id="bottom"),
    ],
)
def test_a_value_at_a_cut_point_is_in_the_better_quartile(
    value: float, expected: int
) -> None:
    stats = stats_of([95, 91, 85, 81, 75, 70, 65, 60])
    assert (stats.q1_min, stats.q2_min, stats.q3_min) == (91, 81, 70)
    assert quartile(value, stats) == expected


def test_ties_across_a_boundary_all_land_in_the_better_quartile() -> None:
    # Ranks 2-4 share 80; rank 2 is the Q1 cut (n=8), so all three are Q1.
    values = [90.0, 80.0, 80.0, 80.0, 70.0, 60.0, 50.0, 40.0]
    assert quartiles_of(values) == [1, 1, 1, 1, 3, 3, 4, 4]


def test_everyone_equal_is_all_top_quartile() -> None:
    assert quartiles_of([85.0] * 10) == [1] * 10


def test_a_heavily_tied_bottom_is_not_pushed_into_the_bottom_quartile() -> None:
    # Half the group shares the lowest value, which is the Q2 cut (rank 4 of 8).
    assert quartiles_of([10, 9, 8, 7, 7, 7, 7, 7]) == [1, 1, 2, 2, 2, 2, 2, 2]


def test_a_single_value_group_is_top_quartile() -> None:
    assert quartiles_of([42.0]) == [1]


def test_mean_and_count_are_those_of_the_values() -> None:
    stats = stats_of([80.0, 90.0, 100.0, 70.0])
    assert (stats.count, stats.mean) == (4, 85.0)


def test_group_stats_refuses_an_empty_group() -> None:
    with pytest.raises(ValueError, match="no call_resolution values"):
        stats_of([])


def test_stats_do_not_depend_on_input_order() -> None:
    values = [random.Random(7).uniform(0, 100) for _ in range(101)]
    shuffled = values[:]
    random.Random(8).shuffle(shuffled)
    assert stats_of(values) == stats_of(shuffled)


# ---- properties ---------------------------------------------------------------------


@given(populations, percent, percent)
def test_a_higher_value_never_gets_a_worse_quartile(
    values: list[float], a: float, b: float
) -> None:
    stats = stats_of(values)
    low, high = sorted((a, b))
    assert quartile(high, stats) <= quartile(low, stats)


@given(populations)
def test_every_value_gets_a_quartile_from_1_to_4(values: list[float]) -> None:
    assert set(quartiles_of(values)) <= {1, 2, 3, 4}


@given(populations)
def test_the_top_value_is_always_top_quartile(values: list[float]) -> None:
    assert quartile(max(values), stats_of(values)) == 1


@given(st.lists(percent, min_size=4, max_size=200, unique=True))
def test_the_bottom_of_four_or_more_distinct_values_is_bottom_quartile(
    values: list[float],
) -> None:
    assert quartile(min(values), stats_of(values)) == 4


@given(distinct_populations)
def test_distinct_values_split_into_quarters_within_one_person(
    values: list[float],
) -> None:
    counts = [0, 0, 0, 0]
    for q in quartiles_of(values):
        counts[q - 1] += 1
    quarter = len(values) / 4
    assert all(abs(count - quarter) <= 1 for count in counts), counts


@given(populations, st.integers(min_value=-50, max_value=50))
def test_adding_a_constant_to_everyone_changes_no_quartile(
    values: list[float], shift: int
) -> None:
    shifted = [value + shift for value in values]
    assert quartiles_of(shifted) == quartiles_of(values)


@given(populations)
def test_the_mean_is_between_the_lowest_and_highest_value(values: list[float]) -> None:
    stats = stats_of(values)
    assert min(values) <= stats.mean <= max(values)
    assert math.isclose(stats.mean, sum(values) / len(values), abs_tol=1e-9)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1))
def test_the_mean_stays_within_range_for_any_finite_values(
    values: list[float],
) -> None:
    stats = stats_of(values)
    assert min(values) <= stats.mean <= max(values)


# ---- group keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        pytest.param(
            ("site", "line_of_business"),
            (("site", "Site A"), ("line_of_business", "Billing")),
            id="site-and-line",
        ),
        pytest.param(
            ("line_of_business", "site"),
            (("site", "Site A"), ("line_of_business", "Billing")),
            id="any-order-is-canonical",
        ),
        pytest.param(("site",), (("site", "Site A"),), id="site"),
        pytest.param(
            ("line_of_business",), (("line_of_business", "Billing"),), id="line"
        ),
        pytest.param(("site", "site"), (("site", "Site A"),), id="repeats-collapse"),
        pytest.param((), (), id="whole-population"),
    ],
)
def test_group_key_names_the_peer_group_in_canonical_order(
    group_by: tuple[str, ...], expected: Group
) -> None:
    assert group_key(person(1), group_by) == expected


def test_group_key_keeps_a_missing_field_as_none() -> None:
    assert group_key(person(1, site=None), ("site",)) == (("site", None),)


def test_group_key_refuses_an_unknown_field() -> None:
    with pytest.raises(ValueError, match="cannot group peers by team"):
        group_key(person(1), ("team",))


# ---- the index ------------------------------------------------------------------------


def naive_stats(
    people: list[PersonFacts], groupings: tuple[tuple[str, ...], ...]
) -> dict[tuple[str, str, Group], GroupStats]:
    """Return every group's statistics the obvious, slow way."""
    values: dict[tuple[str, str, Group], list[float]] = defaultdict(list)
    for someone in people:
        for group in {group_key(someone, group_by) for group_by in groupings}:
            for kpi, periods in someone.kpis.items():
                for period, value in periods.items():
                    if math.isfinite(value):
                        values[(kpi, period, group)].append(value)
    return {key: group_stats(vals, *key) for key, vals in values.items()}


people_strategy = st.lists(
    st.builds(
        person,
        person_id=st.integers(min_value=1),
        site=st.sampled_from(["Site A", "Site B", None]),
        line=st.sampled_from(["Billing", "Claims", None]),
        kpis=st.dictionaries(
            st.sampled_from(["call_resolution", "quality_score", "csat"]),
            st.dictionaries(
                st.sampled_from(["2026-Q1", "2026-Q2", "2026-Q3"]),
                percent | st.just(math.nan),
            ),
        ),
    ),
    max_size=40,
)
groupings_strategy = st.lists(
    st.sampled_from(
        [("site", "line_of_business"), ("site",), ("line_of_business",), ()]
    ),
    min_size=1,
    max_size=3,
).map(tuple)


@given(people_strategy, groupings_strategy)
def test_the_index_agrees_with_computing_each_group_on_its_own(
    people: list[PersonFacts], groupings: tuple[tuple[str, ...], ...]
) -> None:
    index = PeerIndex.build(people, groupings)
    expected = naive_stats(people, groupings)
    assert {(s.kpi, s.period, s.group): s for s in index.all_stats()} == expected


def test_the_default_index_has_site_and_line_groups_and_site_groups() -> None:
    people = [
        person(1, "Site A", "Billing", {KPI: {PERIOD: 90.0}}),
        person(2, "Site A", "Claims", {KPI: {PERIOD: 80.0}}),
    ]
    index = PeerIndex.build(people)
    by_site = index.stats(KPI, PERIOD, (("site", "Site A"),))
    assert by_site is not None
    assert (by_site.count, by_site.mean) == (2, 85.0)
    billing = index.stats(KPI, PERIOD, GROUP)
    assert billing is not None
    assert billing.count == 1
    assert index.stats(KPI, "2026-Q2", GROUP) is None


def test_a_stored_index_answers_like_the_built_one() -> None:
    people = [
        person(i, f"Site {'AB'[i % 2]}", "Billing", {KPI: {PERIOD: float(i)}})
        for i in range(20)
    ]
    built = PeerIndex.build(people)
    stored = PeerIndex.from_stats(built.all_stats())
    assert stored.all_stats() == built.all_stats()
    assert stored.stats(KPI, PERIOD, GROUP) == built.stats(KPI, PERIOD, GROUP)


def test_a_stored_index_refuses_duplicate_groups() -> None:
    stats = stats_of([1.0, 2.0])
    with pytest.raises(ValueError, match="duplicate peer statistics"):
        PeerIndex.from_stats([stats, stats])


def test_all_stats_order_is_stable_with_missing_group_values() -> None:
    people = [
        person(1, None, "Billing", {KPI: {PERIOD: 1.0}}),
        person(2, "Site A", None, {KPI: {PERIOD: 2.0}}),
        person(3, "Site A", "Billing", {KPI: {PERIOD: 3.0}}),
    ]
    first = PeerIndex.build(people).all_stats()
    again = PeerIndex.build(list(reversed(people))).all_stats()
    assert first == again
    assert len(first) == 5  # three site+line groups, two site groups


def test_building_for_twenty_thousand_people_covers_every_group() -> None:
    rng = random.Random(2026)
    sites = [f"Site {c}" for c in "ABCD"]
    lines = ["Billing", "Claims", "Technical", "Orders", "Escalations"]
    periods = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    people = [
        person(
            i,
            rng.choice(sites),
            rng.choice(lines),
            {
                kpi: {p: round(rng.uniform(50, 100), 2) for p in periods}
                for kpi in ("call_resolution", "quality_score", "csat")
            },
        )
        for i in range(20_000)
    ]
    index = PeerIndex.build(people)
    stats = index.all_stats()
    assert len(stats) == 3 * 4 * (4 * 5 + 4)
    per_site = [s for s in stats if len(s.group) == 1]
    assert sum(s.count for s in per_site) == 20_000 * 3 * 4
