"""Inter-rater agreement for calibration: how often two raters agree, beyond chance.

A pair is (rater A's rating, rater B's rating) of the same piece of work, e.g.
two supervisors' rubric levels or total-score bands for one learner's evidence.
Ratings are any hashable category labels.

- Percent agreement is the share of pairs with equal ratings, as a proportion
  from 0.0 to 1.0 (format it with ``{:.0%}`` to show "70%").
- Cohen's kappa is ``(po - pe) / (1 - pe)``: observed agreement ``po`` corrected
  for the agreement ``pe`` expected by chance from each rater's own mix of
  ratings. 1 is perfect agreement, 0 is no better than chance.
- Quadratic weighted kappa is for ordered levels: a disagreement by two levels
  counts four times as much as one by a single level.

With no pairs every measure is None (undefined). When both raters gave every
pair the same single category, chance agreement is 1 and kappa is 0/0; we
report 1.0, because the raters then necessarily agreed on every pair (``po`` is
1 too). Read it with the number of pairs: it shows agreement, not that the
raters can tell levels apart. All sums are done in integers, so known values
come out exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class Agreement:
    """How well two raters agreed over some pairs; None where undefined (no pairs).

    `percent` is a proportion from 0.0 to 1.0, not 0 to 100.
    """

    pairs: int
    percent: float | None
    kappa: float | None


def agreement(pairs: Iterable[tuple[C, C]]) -> Agreement:
    """Return the number of pairs, percent agreement and Cohen's kappa."""
    rated = list(pairs)
    return Agreement(len(rated), percent_agreement(rated), cohens_kappa(rated))


def percent_agreement(pairs: Iterable[tuple[C, C]]) -> float | None:
    """Return the share of pairs whose two ratings are equal (0.0-1.0), or None."""
    rated = list(pairs)
    if not rated:
        return None
    return sum(a == b for a, b in rated) / len(rated)


def cohens_kappa(pairs: Iterable[tuple[C, C]]) -> float | None:
    """Return Cohen's kappa, or None for no pairs; 1.0 when chance agreement is 1."""
    rated = list(pairs)
    n = len(rated)
    if not n:
        return None
    agreed = sum(a == b for a, b in rated)
    first = Counter(a for a, _ in rated)
    second = Counter(b for _, b in rated)
    # Scaled by n^2: po = agreed / n, pe = chance / n^2.
    chance = sum(count * second[category] for category, count in first.items())
    if chance == n * n:
        return 1.0
    return (n * agreed - chance) / (n * n - chance)


def quadratic_weighted_kappa(
    pairs: Iterable[tuple[C, C]], categories: Sequence[C]
) -> float | None:
    """Return Cohen's kappa with quadratic weights over ordered `categories`.

    `categories` lists every level from lowest to highest (the spacing between
    neighbours is taken as equal). Returns None for no pairs and 1.0 when the
    expected disagreement is 0 (every rating in one category). Raises ValueError
    if `categories` is empty or repeats a level, or a rating is not among them.
    """
    position = {category: index for index, category in enumerate(categories)}
    if not categories or len(position) != len(categories):
        raise ValueError("categories must list each level once, lowest first")
    rated = list(pairs)
    for a, b in rated:
        for rating in (a, b):
            if rating not in position:
                raise ValueError(f"rating {rating!r} is not one of the categories")
    n = len(rated)
    if not n:
        return None
    # kappa_w = 1 - sum(w * observed) / sum(w * expected), w = (i - j)^2 up to a
    # constant, expected = row total * column total / n; both sides scaled by n.
    observed = sum((position[a] - position[b]) ** 2 for a, b in rated)
    first = Counter(position[a] for a, _ in rated)
    second = Counter(position[b] for _, b in rated)
    expected = sum(
        (i - j) ** 2 * count_i * count_j
        for i, count_i in first.items()
        for j, count_j in second.items()
    )
    if expected == 0:
        return 1.0
    return (expected - n * observed) / expected
