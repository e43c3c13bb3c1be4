"""A synthetic contact-centre population as a people/KPI CSV, for demos and tests.

The population is deterministic for a seed. Tenure is skewed to recent hires
(contact centres turn over fast); a per-person skill drives call resolution,
quality and CSAT together; sites and lines of business shift the KPIs so their
quartile cut points differ; values drift a little from period to period.

The four development-LMS users are always in it so their launches link:
Ana (eligible for STEP: 14 months, good standing, review 2.6, top-quartile FCR
at Site A / Billing), Ben (not yet: 5 months, review 2.4, third-quartile FCR at
Site A / Billing), Carla (on a performance improvement plan) and Ines (a
long-tenured instructor).
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import orm

from lti_tool.services.people_import import (
    KNOWN_COLUMNS,
    ImportReport,
    import_people_csv,
)

COLUMNS = KNOWN_COLUMNS  # the order an HR export would use

FIRST_NAMES = (
    "Alex", "Maria", "José", "Fatima", "Wei", "Priya", "Liam", "Sofia", "Omar",
    "Grace", "Mateo", "Aisha", "Noah", "Lucia", "Kwame", "Elena", "Diego", "Mei",
    "Samuel", "Yara", "Tomás", "Hana", "David", "Zainab", "Lucas", "Rosa",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Nguyen", "Hernández", "Okonkwo", "Patel", "Kim", "Silva",
    "Johnson", "Rossi", "Mendoza", "Khan", "Brown", "López", "Mensah", "Novak",
    "Castillo", "Chen", "Williams", "Reyes", "Ortiz", "Haddad", "Flores", "Ali",
)  # fmt: skip

DEMO_SITE = "Site A"
DEMO_LINE = "Billing"


@dataclass
class _Person:
    employee_id: str
    email: str
    name: str
    site: str
    line: str
    hire_date: date
    disciplinary: bool
    pip: bool
    review: float
    kpis: dict[str, dict[str, float]] = field(default_factory=dict)  # period → kpi


def _months_ago(today: date, months: int) -> date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    day = min(today.day, 28)
    return date(year, month + 1, day)


def period_end(period: str) -> date:
    """Last day of a period such as 2026-Q3 or 2026-09."""
    match = re.fullmatch(r"(\d{4})-(?:Q([1-4])|(\d{2}))", period, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a period: {period!r}")
    year = int(match.group(1))
    month = int(match.group(2)) * 3 if match.group(2) else int(match.group(3))
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _clamp(value: float, low: float, high: float) -> float:
    return round(min(high, max(low, value)), 1)


def _population(
    n: int,
    rng: random.Random,
    today: date,
    sites: Sequence[str],
    lines: Sequence[str],
    periods: Sequence[str],
) -> list[_Person]:
    site_effect = {s: rng.uniform(-3.5, 3.5) for s in sites}
    line_effect = {ln: rng.uniform(-2.5, 2.5) for ln in lines}
    people: list[_Person] = []
    for index in range(1, n + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # Exponential tenure: many recent hires, a long tail up to 8 years.
        tenure_days = min(int(rng.expovariate(1 / 420)), 8 * 365)
        hire = date.fromordinal(today.toordinal() - tenure_days)
        skill = rng.gauss(0, 1)
        site, line = rng.choice(sites), rng.choice(lines)
        pip = rng.random() < (0.09 if skill < -0.8 else 0.025)
        review = _clamp(rng.gauss(2.2 + 0.25 * skill, 0.3), 1.0, 3.0)
        person = _Person(
            employee_id=f"E{index:06d}",
            email=f"{_ascii(first)}.{_ascii(last)}.{index}@example.com".lower(),
            name=f"{first} {last}",
            site=site,
            line=line,
            hire_date=hire,
            disciplinary=rng.random() < 0.05,
            pip=pip,
            review=review,
        )
        shift = site_effect[site] + line_effect[line]
        drift = 0.0
        for period in periods:
            drift += rng.gauss(0.3, 1.0)
            if period_end(period) < hire:
                continue  # not hired yet in that period
            base = skill + drift / 4
            person.kpis[period] = {
                "call_resolution": _clamp(
                    83 + 4.5 * base + shift + rng.gauss(0, 1.5), 70, 95
                ),
                "quality_score": _clamp(
                    84 + 6 * base + shift + rng.gauss(0, 2.5), 65, 98
                ),
                "csat": _clamp(85 + 5 * base + shift + rng.gauss(0, 2.0), 70, 97),
            }
        people.append(person)
    return people


def _ascii(name: str) -> str:
    table = str.maketrans("áéíóúñÁÉÍÓÚÑ", "aeiounAEIOUN")
    return name.translate(table)


def _quartile_by_cut_points(ordered: list[float], value: float) -> int:
    """Quartile (1 = top) of `value` in ascending `ordered` (which contains it).

    Cut points are the values at ranks ceil(n/4), ceil(n/2) and ceil(3n/4) from
    the top; a value tied with a cut point is in the better quartile.
    """
    n = len(ordered)
    for quartile, share in ((1, 1), (2, 2), (3, 3)):
        if value >= ordered[n - math.ceil(share * n / 4)]:
            return quartile
    return 4


def _quartile_by_rank(above: int, size: int) -> int:
    """Quartile (1 = top) of someone with `above` people ranked above them."""
    return above * 4 // size + 1


def _fcr_for(values: list[float], quartile: int, other: float) -> float:
    """A one-decimal FCR that is in `quartile` of `values` plus `other` and itself.

    The value must land in that quartile however ties are read (cut points with
    ties in the better quartile, or rank with ties above or below), and as near
    the middle of the quartile as possible.
    """
    fallback = 93.0 if quartile == 1 else 80.0
    if not values:
        return fallback
    base = sorted([*values, other])
    target = 1 - (quartile - 0.5) / 4  # middle of the quartile, from the bottom
    best: tuple[float, float] | None = None
    for tenths in range(600, 991):
        x = tenths / 10
        group = base.copy()
        bisect.insort(group, x)
        size = len(group)
        strictly_above = size - bisect.bisect_right(group, x)
        tied_above = size - bisect.bisect_left(group, x) - 1
        if {
            _quartile_by_cut_points(group, x),
            _quartile_by_rank(strictly_above, size),
            _quartile_by_rank(tied_above, size),
        } == {quartile}:
            distance = abs(bisect.bisect_left(base, x) / len(base) - target)
            if best is None or distance < best[0]:
                best = (distance, x)
    return fallback if best is None else best[1]


def _demo_people(
    today: date, periods: Sequence[str], population: list[_Person]
) -> list[_Person]:
    ana = _Person(
        "DEMO-ANA",
        "ana.morales@example.com",
        "Ana Morales",
        DEMO_SITE,
        DEMO_LINE,
        _months_ago(today, 14),
        False,
        False,
        2.6,
    )
    ben = _Person(
        "DEMO-BEN",
        "ben.okafor@example.com",
        "Ben Okafor",
        DEMO_SITE,
        DEMO_LINE,
        _months_ago(today, 5),
        False,
        False,
        2.4,
    )
    carla = _Person(
        "DEMO-CARLA",
        "carla.nguyen@example.com",
        "Carla Nguyen",
        DEMO_SITE,
        "Claims",
        _months_ago(today, 20),
        False,
        True,
        1.8,
    )
    ines = _Person(
        "DEMO-INES",
        "ines.duarte@example.com",
        "Ines Duarte",
        "Site B",
        "Technical",
        _months_ago(today, 62),
        False,
        False,
        2.8,
    )
    for period in periods:
        group = [
            p.kpis[period]["call_resolution"]
            for p in population
            if p.site == DEMO_SITE and p.line == DEMO_LINE and period in p.kpis
        ]
        # Ben ranks below the median, so a low stand-in for him does not move
        # Ana's quartile; then Ben is placed with Ana's real value.
        ana_fcr = _fcr_for(group, 1, other=min(group, default=70.0))
        ana.kpis[period] = {
            "call_resolution": ana_fcr,
            "quality_score": 93.5,
            "csat": 94.0,
        }
        ben.kpis[period] = {
            "call_resolution": _fcr_for(group, 3, other=ana_fcr),
            "quality_score": 84.0,
            "csat": 86.5,
        }
        carla.kpis[period] = {
            "call_resolution": 74.5,
            "quality_score": 70.0,
            "csat": 76.0,
        }
        ines.kpis[period] = {
            "call_resolution": 91.0,
            "quality_score": 95.5,
            "csat": 93.0,
        }
    # Ben was hired five months ago: no KPIs for periods before he started.
    for period in list(ben.kpis):
        if period_end(period) < ben.hire_date:
            del ben.kpis[period]
    return [ana, ben, carla, ines]


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def generate_people_csv(
    n: int,
    *,
    seed: int = 7,
    today: date,
    sites: Sequence[str] = ("Site A", "Site B", "Site C"),
    lines: Sequence[str] = ("Billing", "Claims", "Technical", "Orders"),
    periods: Sequence[str] = ("2026-Q1", "2026-Q2", "2026-Q3"),
) -> str:
    """Return a people/KPI CSV of `n` synthetic people plus the four demo users.

    One row per person per period they were employed in (a person hired after
    the last period gets one row without KPIs). Deterministic for a seed.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
    population = _population(n, rng, today, sites, lines, periods)
    people = _demo_people(today, periods, population) + population
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in people:
        hr = [
            p.employee_id,
            p.email,
            p.name,
            p.site,
            p.line,
            p.hire_date.isoformat(),
            _yes_no(p.disciplinary),
            _yes_no(p.pip),
            f"{p.review:.1f}",
            "3",
        ]
        if not p.kpis:
            writer.writerow([*hr, "", "", "", ""])
        for period, kpis in p.kpis.items():
            writer.writerow(
                [
                    *hr,
                    period,
                    f"{kpis['call_resolution']:.1f}",
                    f"{kpis['quality_score']:.1f}",
                    f"{kpis['csat']:.1f}",
                ]
            )
    return out.getvalue()


def write_demo_people(
    session: orm.Session, n: int, now: datetime, seed: int = 7
) -> ImportReport:
    """Generate `n` synthetic people (+ the demo users) and import them (flush only)."""
    text = generate_people_csv(n, seed=seed, today=now.date())
    return import_people_csv(session, text.encode("utf-8"), now)
