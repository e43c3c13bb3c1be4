"""Peer statistics: each peer group's KPI distribution per period, and quartiles.

A peer group is everyone who shares the same values of some person fields
(``site``, ``line_of_business``), compared on one KPI in one period. Quartile 1
is the top quartile: for every KPI we rank, a higher value is better.

Cut points (deterministic, ties land in the better quartile). Sort the group's
``n`` values from best to worst and give the best rank 1. Then

- ``q1_min`` is the value at rank ``ceil(n/4)``,
- ``q2_min`` is the value at rank ``ceil(n/2)``,
- ``q3_min`` is the value at rank ``ceil(3n/4)``,

and a value ``v`` is in quartile 1 if ``v >= q1_min``, 2 if ``v >= q2_min``, 3 if
``v >= q3_min``, else 4. Everyone tied with a cut value is in the better
quartile, so equal values always share a quartile and the same population
always gives the same answer. With distinct values each quartile holds within
one person of ``n/4``; with ties a quartile may hold more (or nobody), and when
more than a quarter of the group shares the lowest value, nobody is in
quartile 4. A group of one is all quartile 1; whether a group is large enough
to rank fairly is the eligibility engine's decision, not ours.

`PeerIndex.build` groups the whole population once (by the finest combination
of fields asked for), sorts each fine group once and merges the sorted runs for
coarser groups, so 100,000 people cost well under a second and no per-person
work scales with the population.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

GROUP_FIELDS: tuple[str, ...] = ("site", "line_of_business")
"""Person fields a peer group may be formed on, in their canonical order."""

DEFAULT_GROUPINGS: tuple[tuple[str, ...], ...] = (
    ("site", "line_of_business"),
    ("site",),
)

Group = tuple[tuple[str, str | None], ...]
"""A peer group, e.g. ``(("site", "Site A"), ("line_of_business", "Billing"))``."""


K = TypeVar("K")
V = TypeVar("V")


class Peer(Protocol):
    """What peer statistics need of a person (`eligibility.PersonFacts` has it)."""

    @property
    def site(self) -> str | None: ...

    @property
    def line_of_business(self) -> str | None: ...

    @property
    def kpis(self) -> Mapping[str, Mapping[str, float]]: ...


@dataclass(frozen=True)
class GroupStats:
    """One peer group's distribution of one KPI in one period.

    ``q1_min``, ``q2_min`` and ``q3_min`` are the lowest values that are still in
    quartile 1, 2 and 3 (1 = top); see the module docstring for the method.
    """

    kpi: str
    period: str
    group: Group
    count: int
    mean: float
    q1_min: float
    q2_min: float
    q3_min: float


def canonical_fields(group_by: Iterable[str]) -> tuple[str, ...]:
    """Return the group fields in canonical order without repeats.

    Raises ValueError for a field that is not one of `GROUP_FIELDS`.
    """
    wanted = set(group_by)
    unknown = wanted - set(GROUP_FIELDS)
    if unknown:
        raise ValueError(
            f"cannot group peers by {', '.join(sorted(unknown))}; "
            f"use {' and/or '.join(GROUP_FIELDS)}"
        )
    return tuple(field for field in GROUP_FIELDS if field in wanted)


def group_key(person: Peer, group_by: tuple[str, ...]) -> Group:
    """Return the peer group of a person for the given fields.

    Fields come out in canonical order (site, then line of business) whatever
    order `group_by` lists them in, so ("line_of_business", "site") and
    ("site", "line_of_business") name the same group. An empty `group_by` is
    the whole population.
    """
    return tuple(
        (field, getattr(person, field)) for field in canonical_fields(group_by)
    )


def _stats_from_ascending(
    ascending: Sequence[float], kpi: str, period: str, group: Group
) -> GroupStats:
    """Return the statistics of values already sorted from worst to best."""
    n = len(ascending)
    if n == 0:
        raise ValueError(f"no {kpi} values for {group!r} in {period}")
    low, high = ascending[0], ascending[-1]
    # Summed from smallest to largest; clamped so rounding never leaves [min, max].
    mean = min(max(sum(ascending) / n, low), high)

    def at_rank(rank: int) -> float:  # rank 1 = best = last in ascending order
        return ascending[n - rank]

    return GroupStats(
        kpi=kpi,
        period=period,
        group=group,
        count=n,
        mean=mean,
        q1_min=at_rank((n + 3) // 4),
        q2_min=at_rank((n + 1) // 2),
        q3_min=at_rank((3 * n + 3) // 4),
    )


def group_stats(
    values: Sequence[float], kpi: str, period: str, group: Group
) -> GroupStats:
    """Return the count, mean and quartile cut points of one group's values.

    Raises ValueError when `values` is empty. Values must be finite.
    """
    return _stats_from_ascending(sorted(values), kpi, period, group)


def quartile(value: float, stats: GroupStats) -> int:
    """Return the quartile (1 = top, 4 = bottom) of a value in a group."""
    if value >= stats.q1_min:
        return 1
    if value >= stats.q2_min:
        return 2
    if value >= stats.q3_min:
        return 3
    return 4


def _columns(rows: Sequence[Mapping[K, V]]) -> dict[K, list[V]]:
    """Return, for every key in any row, the values of the rows that have it.

    The usual case (every row has the same keys) stays in C and reads each row
    once, which matters when the rows are 100,000 people's scattered dicts.
    """
    if not rows:
        return {}
    keys = list(rows[0])
    if set(map(len, rows)) == {len(keys)}:
        try:
            return {key: list(map(operator.itemgetter(key), rows)) for key in keys}
        except KeyError:
            pass  # same sizes, different keys: take the general path
    every_key: set[K] = set().union(*rows)
    return {key: [row[key] for row in rows if key in row] for key in every_key}


def _sort_key(stats: GroupStats) -> tuple[object, ...]:
    """Return a total order for stats whose groups may hold None."""
    return (
        stats.kpi,
        stats.period,
        tuple((field, value is not None, value or "") for field, value in stats.group),
    )


class PeerIndex:
    """Peer statistics by (kpi, period, group); built from a population or from stored GroupStats."""

    def __init__(self, stats: Mapping[tuple[str, str, Group], GroupStats]) -> None:
        self._stats = dict(stats)

    @classmethod
    def build(
        cls,
        people: Iterable[Peer],
        groupings: Iterable[tuple[str, ...]] = DEFAULT_GROUPINGS,
    ) -> PeerIndex:
        """Compute every group's statistics for every KPI and period in the population.

        Each entry of `groupings` is a tuple of group fields (see `group_key`);
        statistics exist for each of them. Non-finite values (NaN, infinities)
        are ignored as if missing.
        """
        wanted = list(dict.fromkeys(canonical_fields(g) for g in groupings))
        fine_fields = canonical_fields(f for g in wanted for f in g)

        # 1. Group people by the finest combination of fields (C-level maps).
        population = list(people)
        if fine_fields:
            keys: Iterable[tuple[str | None, ...]] = zip(
                *(map(operator.attrgetter(field), population) for field in fine_fields),
                strict=True,
            )
        else:
            keys = [()] * len(population)
        people_by_fine: dict[tuple[str | None, ...], list[Peer]] = {}
        for fine_key, person in zip(keys, population, strict=True):
            members = people_by_fine.get(fine_key)
            if members is None:
                people_by_fine[fine_key] = [person]
            else:
                members.append(person)

        # 2. Per fine group, KPI and period: the values, sorted once.
        fine_values: dict[
            tuple[str, str], dict[tuple[str | None, ...], list[float]]
        ] = {}
        for fine_key, members in people_by_fine.items():
            kpi_maps = _columns(list(map(operator.attrgetter("kpis"), members)))
            for kpi, period_maps in kpi_maps.items():
                for period, scattered in _columns(period_maps).items():
                    # Fresh, adjacent floats: sorting and merging them stays in cache.
                    values = array("d", scattered).tolist()
                    if not all(map(math.isfinite, values)):
                        values = [v for v in values if math.isfinite(v)]
                    if values:
                        values.sort()
                        fine_values.setdefault((kpi, period), {})[fine_key] = values

        # 3. Per grouping: merge the fine groups' sorted runs (linear for timsort).
        stats: dict[tuple[str, str, Group], GroupStats] = {}
        for fields in wanted:
            positions = [fine_fields.index(field) for field in fields]
            for (kpi, period), groups in fine_values.items():
                merged: dict[Group, list[float]] = {}
                for fine_key, values in groups.items():
                    group = tuple(
                        [
                            (field, fine_key[pos])
                            for field, pos in zip(fields, positions, strict=True)
                        ]
                    )
                    if fields == fine_fields:
                        merged[group] = values  # already sorted, one fine group
                    else:
                        merged.setdefault(group, []).extend(values)
                for group, values in merged.items():
                    if fields != fine_fields:
                        values.sort()
                    stats[(kpi, period, group)] = _stats_from_ascending(
                        values, kpi, period, group
                    )
        return cls(stats)

    @classmethod
    def from_stats(cls, stats: Iterable[GroupStats]) -> PeerIndex:
        """Rebuild an index from stored statistics.

        Raises ValueError if two entries share a KPI, period and group.
        """
        index: dict[tuple[str, str, Group], GroupStats] = {}
        for entry in stats:
            key = (entry.kpi, entry.period, entry.group)
            if key in index:
                raise ValueError(f"duplicate peer statistics for {key!r}")
            index[key] = entry
        return cls(index)

    def stats(self, kpi: str, period: str, group: Group) -> GroupStats | None:
        """Return one group's statistics, or None if nobody in it has a value."""
        return self._stats.get((kpi, period, group))

    def all_stats(self) -> list[GroupStats]:
        """Return every group's statistics in a stable order (for storage)."""
        return sorted(self._stats.values(), key=_sort_key)
