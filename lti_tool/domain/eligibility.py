"""Eligibility: whether a person may enter a tier, and in plain words why (not yet).

`evaluate_tier` applies a tier's eligibility rules (`programs.EligibilityRule`)
to one person's facts as of a date and returns an `EligibilityDecision`: one
`Reason` per rule, in the tier's order, each with a message for the learner and
the inputs it used, plus a `rule_version` so a stored decision says exactly
which rules produced it. Tier prerequisites (earlier tiers completed) are the
service layer's business; eligibility here is the rules only.

The rules, and the choices made where the programs leave room:

- ``min_tenure_months``: whole calendar months from the hire date to ``as_of``
  (see `tenure_months`): the N-month anniversary is the same day of the month
  N months later, or that month's last day when it is shorter, so someone hired
  on 31 January has 1 month on 28 February and 6 months on 31 July (not on
  30 July). No hire date fails.
- ``hr_good_standing``: fails on a disciplinary action or a performance
  improvement plan; the message names which, and nothing more of the HR file.
- ``min_review_score``: passes when the last review score is *strictly* above
  ``above`` (2.0 on a 3-point scale fails, 2.01 passes). No review fails.
- ``kpi_quartile``: the person's latest period with a value of the KPI (the
  period strings sort in time order, e.g. "2026-Q3"; ``as_of`` does not pick
  the period), ranked in their peer group (`group_key` over ``group_by``,
  default site and line of business) for that period; quartile 1 is the top
  and higher is better for every KPI. Passes when the quartile is in
  ``allowed_quartiles`` (the engine applies whatever the program allows).
  A group with fewer than ``max(4, min_group_size)`` people with figures, or a
  person with no site or line of business on record, fails with an honest
  message: ranking three people in quartiles would be noise, and we would
  rather say "not yet" than rank unfairly.
- ``kpi_at_least_average``: the latest value must be *at or above* the group's
  mean (``group_by``, default the site) for that period; exactly the average
  passes. When the group has fewer than ``min_group_size`` people with figures
  (or the person has no site on record), ``fallback_average`` (SQM's 88 %
  centre average) is used instead; without one the rule fails honestly.
- ``kpi_minimum``: the latest value must be at or above ``minimum``.

KPI values are percentages (0-100). Non-finite values (NaN) count as missing.
Everything here is pure: no I/O, and time comes in as ``as_of``.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import hashlib
import json
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from types import MappingProxyType
from typing import TypeVar

from lti_tool.domain.programs import EligibilityRule, Program, RuleKind, Tier
from lti_tool.domain.quartiles import (
    Group,
    GroupStats,
    PeerIndex,
    canonical_fields,
    group_key,
    group_stats,
    quartile,
)

__all__ = [
    "KPI_LABELS",
    "MIN_RANKED_GROUP",
    "BatchEvaluator",
    "EligibilityDecision",
    "GroupStats",
    "PeerIndex",
    "PersonFacts",
    "Reason",
    "evaluate_program",
    "evaluate_tier",
    "group_key",
    "group_label",
    "group_stats",
    "quartile",
    "rule_version",
    "tenure_months",
]

KPI_LABELS: Mapping[str, str] = {
    "call_resolution": "call resolution",
    "quality_score": "quality score",
    "csat": "CSAT",
}
"""Plain names of the KPIs; KPI values are percentages 0-100."""

MIN_RANKED_GROUP = 4
"""Fewest people with figures a group needs before we rank anyone in quartiles."""

ENGINE_VERSION = 1
"""Part of every `rule_version`; bump it when a rule's meaning changes here."""

_DEFAULT_QUARTILE_GROUP = ("site", "line_of_business")
_DEFAULT_AVERAGE_GROUP = ("site",)
_QUARTILE_NAMES = {1: "top", 2: "second", 3: "third", 4: "bottom"}
_FIELD_NAMES = {"site": "site", "line_of_business": "line of business"}

T = TypeVar("T")


@dataclass(frozen=True)
class PersonFacts:
    """What the rules know about one person (from HRIS, WFM and QA imports).

    `kpis` maps a KPI to its values by period ("2026-Q3"; periods sort in time
    order), each a percentage 0-100.
    """

    person_id: int
    hire_date: date | None
    site: str | None
    line_of_business: str | None
    disciplinary_action: bool
    performance_improvement_plan: bool
    review_score: float | None
    kpis: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Reason:
    """The outcome of one rule for one person, in words and inputs.

    `message` speaks to the learner in plain words; `inputs` holds the
    JSON-serialisable values the rule used (numbers, strings, bools, None and
    lists of them), so a stored decision can be explained later.
    """

    rule_id: str
    kind: str
    passed: bool
    message: str
    inputs: Mapping[str, object]


@dataclass(frozen=True)
class EligibilityDecision:
    """Whether a person may enter a tier as of a date, with every rule's reason."""

    person_id: int
    program_id: str
    program_version: str
    tier_id: str
    as_of: date
    eligible: bool
    reasons: tuple[Reason, ...]
    rule_version: str

    def failed(self) -> tuple[Reason, ...]:
        """Return the reasons of the rules that did not pass, in order."""
        return tuple(reason for reason in self.reasons if not reason.passed)

    def to_json(self) -> dict[str, object]:
        """Return the whole decision as JSON-serialisable data (for storage)."""
        return {
            "person_id": self.person_id,
            "program_id": self.program_id,
            "program_version": self.program_version,
            "tier_id": self.tier_id,
            "as_of": self.as_of.isoformat(),
            "eligible": self.eligible,
            "rule_version": self.rule_version,
            "reasons": [
                {
                    "rule_id": reason.rule_id,
                    "kind": reason.kind,
                    "passed": reason.passed,
                    "message": reason.message,
                    "inputs": {k: _jsonable(v) for k, v in reason.inputs.items()},
                }
                for reason in self.reasons
            ],
        }


def _jsonable(value: object) -> object:
    """Return a value with tuples as lists and mappings as dicts."""
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


# ---- rule version --------------------------------------------------------------


def _canonical(value: object) -> object:
    """Return a value in a form whose JSON does not depend on int vs float or enums."""
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    raise TypeError(f"cannot fingerprint {type(value).__name__} in a rule")


def _fingerprint(rule: EligibilityRule) -> dict[str, object]:
    """Return a rule's meaning: every parameter that differs from its default.

    The description is wording, not meaning, and parameters at their defaults
    are left out so adding a new optional parameter keeps old versions.
    """
    result: dict[str, object] = {}
    for field in dataclasses.fields(rule):
        if field.name == "description":
            continue
        value = getattr(rule, field.name)
        if field.default is not dataclasses.MISSING and value == field.default:
            continue
        result[field.name] = _canonical(value)
    return result


def rule_version(tier: Tier) -> str:
    """Return a stable hash of a tier's eligibility rules (16 hex characters).

    It changes when a rule is added, removed, reordered or has a parameter
    changed (6 and 6.0 months are the same), and not when only a description
    changes.
    """
    return _rules_version(tier.eligibility)


@functools.lru_cache(maxsize=1024)
def _rules_version(rules: tuple[EligibilityRule, ...]) -> str:
    """Return the version of a sequence of rules (cached: rules are values)."""
    payload = {
        "engine": ENGINE_VERSION,
        "rules": [_fingerprint(rule) for rule in rules],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---- wording ---------------------------------------------------------------------


def _decimals(*pairs: tuple[float, float]) -> int:
    """Return how many decimals (2 or more) keep each pair of different numbers apart."""
    digits = 2
    while digits < 8 and any(
        a != b and round(a, digits) == round(b, digits) for a, b in pairs
    ):
        digits += 1
    return digits


def _pct(value: float, digits: int = 2) -> str:
    """Return a percentage for people: 88 %, 87.99 %, 81.5 %."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text} %"


def _score(value: float) -> str:
    """Return a review score as written: 2.0, 2.01, 2.5."""
    return repr(float(value))


def _months(count: int) -> str:
    """Return "1 month" or "N months"."""
    return f"{count} month" if count == 1 else f"{count} months"


def _kpi_label(kpi: str) -> str:
    """Return the plain name of a KPI."""
    return KPI_LABELS.get(kpi, kpi.replace("_", " "))


def group_label(group: Group) -> str:
    """Return a peer group in words: "Billing at Site A", "Site A"."""
    values = dict(group)
    site = values.get("site")
    line = values.get("line_of_business")
    if "site" in values and "line_of_business" in values:
        return f"{line} at {site}"
    if "site" in values:
        return str(site)
    if "line_of_business" in values:
        return str(line)
    return "the whole company"


def _missing_fields(group: Group) -> list[str]:
    """Return the plain names of the group fields a person has no value for."""
    return [_FIELD_NAMES.get(field, field) for field, value in group if value is None]


def _group_inputs(group: Group) -> dict[str, object]:
    """Return the group's fields as flat inputs."""
    return dict(group)


# ---- rules -----------------------------------------------------------------------


def _required(value: T | None, name: str, rule: EligibilityRule) -> T:
    """Return a rule parameter, or raise ValueError if the program left it out."""
    if value is None:
        raise ValueError(f"eligibility rule {rule.id!r} ({rule.kind}) needs {name!r}")
    return value


def tenure_months(hire_date: date, as_of: date) -> int:
    """Return the whole calendar months from a hire date to a date (0 if earlier).

    The N-month anniversary is the same day N months later, or the last day of
    that month when it has fewer days (31 Jan + 1 month = 28 or 29 Feb).
    """
    months = (as_of.year - hire_date.year) * 12 + as_of.month - hire_date.month
    if months > 0:
        year, month0 = divmod(hire_date.year * 12 + hire_date.month - 1 + months, 12)
        last_day = calendar.monthrange(year, month0 + 1)[1]
        if date(year, month0 + 1, min(hire_date.day, last_day)) > as_of:
            months -= 1
    return max(months, 0)


def _tenure(rule: EligibilityRule, person: PersonFacts, as_of: date) -> Reason:
    """Apply min_tenure_months."""
    needed = _required(rule.months, "months", rule)
    inputs: dict[str, object] = {
        "hire_date": person.hire_date.isoformat() if person.hire_date else None,
        "as_of": as_of.isoformat(),
        "tenure_months": None,
        "required_months": needed,
    }
    if person.hire_date is None:
        message = "We have no hire date for you yet; ask HR to update your record."
        return _reason(rule, False, message, inputs)
    months = tenure_months(person.hire_date, as_of)
    inputs["tenure_months"] = months
    if months >= needed:
        message = f"You have {_months(months)} of tenure ({needed} needed)."
        return _reason(rule, True, message, inputs)
    message = (
        f"You have been with the company {_months(months)}; this tier needs {needed}."
    )
    return _reason(rule, False, message, inputs)


def _hr_standing(rule: EligibilityRule, person: PersonFacts) -> Reason:
    """Apply hr_good_standing."""
    inputs: dict[str, object] = {
        "disciplinary_action": person.disciplinary_action,
        "performance_improvement_plan": person.performance_improvement_plan,
    }
    open_items = []
    if person.disciplinary_action:
        open_items.append("an open disciplinary action")
    if person.performance_improvement_plan:
        open_items.append("an active performance improvement plan")
    if not open_items:
        return _reason(rule, True, "You are in good HR standing.", inputs)
    message = (
        f"Your HR record shows {' and '.join(open_items)}, so this tier is not "
        "open to you yet. Your supervisor or HR can tell you what comes next."
    )
    return _reason(rule, False, message, inputs)


def _review(rule: EligibilityRule, person: PersonFacts) -> Reason:
    """Apply min_review_score (strictly above)."""
    above = _required(rule.above, "above", rule)
    inputs: dict[str, object] = {
        "review_score": person.review_score,
        "above": above,
        "scale": rule.scale,
    }
    out_of = f" out of {_score(rule.scale)}" if rule.scale is not None else ""
    if person.review_score is None:
        message = (
            "We have no performance review on record for you yet; this tier needs "
            f"a review score above {_score(above)}{out_of}."
        )
        return _reason(rule, False, message, inputs)
    score = _score(person.review_score)
    if person.review_score > above:
        message = f"Your last review score ({score}{out_of}) is above the {_score(above)} this tier needs."
        return _reason(rule, True, message, inputs)
    message = f"Your last review score is {score}{out_of}; this tier needs more than {_score(above)}."
    return _reason(rule, False, message, inputs)


def _latest(person: PersonFacts, kpi: str) -> tuple[str, float] | None:
    """Return the person's latest period with a value of the KPI, and the value."""
    periods = person.kpis.get(kpi, {})
    known = [period for period, value in periods.items() if math.isfinite(value)]
    if not known:
        return None
    period = max(known)
    return period, periods[period]


def _no_figures(rule: EligibilityRule, label: str, inputs: dict[str, object]) -> Reason:
    """Fail a KPI rule for a person without figures for the KPI."""
    message = f"We have no {label} figures for you yet, so we cannot check this."
    return _reason(rule, False, message, inputs)


def _kpi_quartile(
    rule: EligibilityRule, person: PersonFacts, peers: PeerIndex
) -> Reason:
    """Apply kpi_quartile."""
    kpi = _required(rule.kpi, "kpi", rule)
    label = _kpi_label(kpi)
    group = group_key(person, rule.group_by or _DEFAULT_QUARTILE_GROUP)
    where = group_label(group)
    min_size = max(MIN_RANKED_GROUP, rule.min_group_size)
    inputs: dict[str, object] = {
        "kpi": kpi,
        "period": None,
        "value": None,
        "group": where,
        **_group_inputs(group),
        "group_count": None,
        "min_group_size": min_size,
        "q1_min": None,
        "q2_min": None,
        "q3_min": None,
        "quartile": None,
        "allowed_quartiles": tuple(rule.allowed_quartiles),
    }
    latest = _latest(person, kpi)
    if latest is None:
        return _no_figures(rule, label, inputs)
    period, value = latest
    inputs.update(period=period, value=value)
    missing = _missing_fields(group)
    if missing:
        message = (
            f"We have no {' or '.join(missing)} on record for you, so we cannot "
            f"compare your {label} with your colleagues'; ask HR to update your record."
        )
        return _reason(rule, False, message, inputs)
    stats = peers.stats(kpi, period, group)
    count = stats.count if stats is not None else 0
    inputs["group_count"] = count
    if stats is None:
        message = (
            f"We have no {label} figures yet for your colleagues in {where} for "
            f"{period}, so we cannot rank you; we will check again when we do."
        )
        return _reason(rule, False, message, inputs)
    if count < min_size:
        message = (
            f"Only {count} {'person' if count == 1 else 'people'} in {where} "
            f"{'has' if count == 1 else 'have'} {label} figures for {period}: too few "
            f"colleagues to rank you fairly (we need at least {min_size}), so we "
            "cannot check this yet."
        )
        return _reason(rule, False, message, inputs)
    rank = quartile(value, stats)
    cuts = {1: stats.q1_min, 2: stats.q2_min, 3: stats.q3_min}
    inputs.update(
        q1_min=stats.q1_min, q2_min=stats.q2_min, q3_min=stats.q3_min, quartile=rank
    )
    allowed = set(rule.allowed_quartiles) & set(_QUARTILE_NAMES)
    better = [q for q in allowed if q < rank]
    target = max(better) if better else None
    digits = _decimals((value, cuts[target])) if target else 2
    placed = (
        f"Your {label} ({_pct(value, digits)}) is in the {_QUARTILE_NAMES[rank]} "
        f"quartile for {where} in {period}"
    )
    if rank in allowed:
        return _reason(rule, True, f"{placed}.", inputs)
    if target is not None:
        hint = f"the {_QUARTILE_NAMES[target]} quartile starts at {_pct(cuts[target], digits)}"
    elif allowed:
        names = " and ".join(_QUARTILE_NAMES[q] for q in sorted(allowed))
        plural = "quartiles" if len(allowed) > 1 else "quartile"
        hint = f"this tier is for the {names} {plural}"
    else:
        hint = "this tier is not open to any quartile"
    return _reason(rule, False, f"{placed}; {hint}.", inputs)


def _kpi_average(
    rule: EligibilityRule, person: PersonFacts, tier: Tier, peers: PeerIndex
) -> Reason:
    """Apply kpi_at_least_average (at or above the group mean, or the fallback)."""
    kpi = _required(rule.kpi, "kpi", rule)
    label = _kpi_label(kpi)
    group = group_key(person, rule.group_by or _DEFAULT_AVERAGE_GROUP)
    where = group_label(group)
    inputs: dict[str, object] = {
        "kpi": kpi,
        "period": None,
        "value": None,
        "group": where,
        **_group_inputs(group),
        "group_count": None,
        "group_mean": None,
        "min_group_size": rule.min_group_size,
        "fallback_average": rule.fallback_average,
        "fallback_used": False,
        "average": None,
    }
    latest = _latest(person, kpi)
    if latest is None:
        return _no_figures(rule, label, inputs)
    period, value = latest
    inputs.update(period=period, value=value)
    missing = _missing_fields(group)
    stats = None if missing else peers.stats(kpi, period, group)
    if stats is not None:
        inputs.update(group_count=stats.count, group_mean=stats.mean)
    if missing:
        why = f"we have no {' or '.join(missing)} on record for you"
    elif stats is None:
        why = f"nobody in {where} has {label} figures for {period} yet"
    elif stats.count == 1:
        why = f"only 1 person in {where} has {label} figures for {period}"
    else:
        why = f"only {stats.count} people in {where} have {label} figures for {period}"
    if stats is not None and stats.count >= rule.min_group_size:
        average = stats.mean
        digits = _decimals((value, average))
        benchmark = f"the average for {where} ({_pct(average, digits)})"
    elif rule.fallback_average is not None:
        average = rule.fallback_average
        inputs["fallback_used"] = True
        digits = _decimals((value, average))
        benchmark = (
            f"the centre average of {_pct(average, digits)} (used because {why})"
        )
    else:
        message = (
            f"We cannot work out a fair {label} average to compare you with, because "
            f"{why}; we will check again when there are more figures."
        )
        return _reason(rule, False, message, inputs)
    inputs["average"] = average
    if value >= average:
        message = f"Your {label} ({_pct(value, digits)}) in {period} is at or above {benchmark}."
        return _reason(rule, True, message, inputs)
    needs = "lateral moves need" if tier.move == "lateral" else "this tier needs"
    message = f"Your {label} is {_pct(value, digits)} in {period}; {needs} at least {benchmark}."
    return _reason(rule, False, message, inputs)


def _kpi_minimum(rule: EligibilityRule, person: PersonFacts) -> Reason:
    """Apply kpi_minimum (at or above)."""
    kpi = _required(rule.kpi, "kpi", rule)
    minimum = _required(rule.minimum, "minimum", rule)
    label = _kpi_label(kpi)
    inputs: dict[str, object] = {
        "kpi": kpi,
        "period": None,
        "value": None,
        "minimum": minimum,
    }
    latest = _latest(person, kpi)
    if latest is None:
        return _no_figures(rule, label, inputs)
    period, value = latest
    inputs.update(period=period, value=value)
    digits = _decimals((value, minimum))
    if value >= minimum:
        message = f"Your {label} ({_pct(value, digits)}) in {period} meets the minimum of {_pct(minimum, digits)}."
        return _reason(rule, True, message, inputs)
    message = f"Your {label} is {_pct(value, digits)} in {period}; this tier needs at least {_pct(minimum, digits)}."
    return _reason(rule, False, message, inputs)


def _reason(
    rule: EligibilityRule, passed: bool, message: str, inputs: dict[str, object]
) -> Reason:
    """Return a rule's reason with read-only inputs."""
    return Reason(
        rule_id=rule.id,
        kind=str(rule.kind),
        passed=passed,
        message=message,
        inputs=MappingProxyType(dict(inputs)),
    )


def _evaluate_rule(
    rule: EligibilityRule,
    person: PersonFacts,
    tier: Tier,
    peers: PeerIndex,
    as_of: date,
) -> Reason:
    """Apply one rule to one person."""
    kind = RuleKind(rule.kind)
    if kind is RuleKind.MIN_TENURE_MONTHS:
        return _tenure(rule, person, as_of)
    if kind is RuleKind.HR_GOOD_STANDING:
        return _hr_standing(rule, person)
    if kind is RuleKind.MIN_REVIEW_SCORE:
        return _review(rule, person)
    if kind is RuleKind.KPI_QUARTILE:
        return _kpi_quartile(rule, person, peers)
    if kind is RuleKind.KPI_AT_LEAST_AVERAGE:
        return _kpi_average(rule, person, tier, peers)
    return _kpi_minimum(rule, person)


# ---- decisions -------------------------------------------------------------------


def evaluate_tier(
    person: PersonFacts, program: Program, tier: Tier, peers: PeerIndex, as_of: date
) -> EligibilityDecision:
    """Return whether a person may enter a tier as of a date, with every rule's reason.

    A tier without rules is open to everyone.
    """
    reasons = tuple(
        _evaluate_rule(rule, person, tier, peers, as_of) for rule in tier.eligibility
    )
    return EligibilityDecision(
        person_id=person.person_id,
        program_id=program.id,
        program_version=program.version,
        tier_id=tier.id,
        as_of=as_of,
        eligible=all(reason.passed for reason in reasons),
        reasons=reasons,
        rule_version=rule_version(tier),
    )


def evaluate_program(
    person: PersonFacts, program: Program, peers: PeerIndex, as_of: date
) -> tuple[EligibilityDecision, ...]:
    """Return the person's decision for every tier of a program, in tier order."""
    return tuple(
        evaluate_tier(person, program, tier, peers, as_of) for tier in program.tiers
    )


# ---- many people at once ------------------------------------------------------------


_KEYED_ON_MOVE = frozenset({RuleKind.KPI_AT_LEAST_AVERAGE})
"""Rule kinds whose wording depends on the tier's move (upward or lateral)."""


def _latest_of(periods: Mapping[str, float] | None) -> tuple[str, float] | None:
    """Return `_latest` of one KPI's values by period (fast for one period)."""
    if not periods:
        return None
    if len(periods) == 1:
        for period, value in periods.items():
            return (period, value) if math.isfinite(value) else None
    known = [period for period, value in periods.items() if math.isfinite(value)]
    if not known:
        return None
    period = max(known)
    return period, periods[period]


class BatchEvaluator:
    """Evaluate a whole population against the same peers and date, rule by rule.

    A rule's reason depends on a few facts only: tenure on the hire date, HR
    standing on the two flags, the review on the score, a KPI rule on the
    latest period and value of its KPI and on the person's peer group, and the
    average rule on the tier's move too. So each distinct rule is applied
    column-wise to everyone, and people with equal facts get the same
    (immutable) `Reason` object, computed once by the very code `evaluate_tier`
    runs. Tiers whose rules are the same (and, where wording depends on it,
    whose move is) share one evaluation. `reasons(tier)[i]` and
    `eligible(tier)[i]` equal what `evaluate_tier` gives for `people[i]`.
    """

    def __init__(
        self, people: Sequence[PersonFacts], peers: PeerIndex, as_of: date
    ) -> None:
        self.people = people
        self.peers = peers
        self.as_of = as_of
        self._rules: dict[tuple[str, str], list[Reason]] = {}
        self._plans: dict[tuple[tuple[str, str], ...], list[tuple[Reason, ...]]] = {}
        self._eligible: dict[tuple[tuple[str, str], ...], list[bool]] = {}
        self._latest: dict[str, list[tuple[str, float] | None]] = {}

    def plan_key(self, tier: Tier) -> tuple[tuple[str, str], ...]:
        """Return a key equal for tiers that give everyone the same reasons."""
        return tuple(_rule_key(rule, tier) for rule in tier.eligibility)

    def reasons(self, tier: Tier) -> list[tuple[Reason, ...]]:
        """Return everyone's reasons for a tier, in the order of `people`."""
        key = self.plan_key(tier)
        done = self._plans.get(key)
        if done is None:
            columns = [self._column(rule, tier) for rule in tier.eligibility]
            if columns:
                done = list(zip(*columns, strict=True))
            else:
                done = [()] * len(self.people)
            self._plans[key] = done
        return done

    def eligible(self, tier: Tier) -> list[bool]:
        """Return whether each person may enter a tier, in the order of `people`."""
        key = self.plan_key(tier)
        done = self._eligible.get(key)
        if done is None:
            passed = [
                list(map(_PASSED, self._column(rule, tier)))
                for rule in tier.eligibility
            ]
            if passed:
                done = list(map(all, zip(*passed, strict=True)))
            else:
                done = [True] * len(self.people)
            self._eligible[key] = done
        return done

    def decision(self, index: int, program: Program, tier: Tier) -> EligibilityDecision:
        """Return `evaluate_tier(people[index], program, tier, peers, as_of)`."""
        return EligibilityDecision(
            person_id=self.people[index].person_id,
            program_id=program.id,
            program_version=program.version,
            tier_id=tier.id,
            as_of=self.as_of,
            eligible=self.eligible(tier)[index],
            reasons=self.reasons(tier)[index],
            rule_version=rule_version(tier),
        )

    def _latest_column(self, kpi: str) -> list[tuple[str, float] | None]:
        column = self._latest.get(kpi)
        if column is None:
            column = self._latest[kpi] = [
                _latest_of(kpis.get(kpi)) for kpis in map(_KPIS, self.people)
            ]
        return column

    def _column(self, rule: EligibilityRule, tier: Tier) -> list[Reason]:
        key = _rule_key(rule, tier)
        column = self._rules.get(key)
        if column is not None:
            return column
        people = self.people
        kind = RuleKind(rule.kind)
        keys: Iterable[object]
        if kind is RuleKind.MIN_TENURE_MONTHS:
            keys = map(_HIRE_DATE, people)
        elif kind is RuleKind.HR_GOOD_STANDING:
            keys = map(_HR_FLAGS, people)
        elif kind is RuleKind.MIN_REVIEW_SCORE:
            keys = map(_REVIEW, people)
        else:
            latest = self._latest_column(_required(rule.kpi, "kpi", rule))
            if kind is RuleKind.KPI_MINIMUM:
                keys = latest
            else:
                default = (
                    _DEFAULT_QUARTILE_GROUP
                    if kind is RuleKind.KPI_QUARTILE
                    else _DEFAULT_AVERAGE_GROUP
                )
                fields = canonical_fields(rule.group_by or default)
                keys = zip(
                    latest,
                    *(map(operator.attrgetter(f), people) for f in fields),
                    strict=True,
                )
        cache: dict[object, Reason] = {}
        get = cache.get
        column = []
        append = column.append
        for person, fact_key in zip(people, keys, strict=True):
            reason = get(fact_key)
            if reason is None:
                reason = cache[fact_key] = _evaluate_rule(
                    rule, person, tier, self.peers, self.as_of
                )
            append(reason)
        self._rules[key] = column
        return column


_PASSED = operator.attrgetter("passed")
_KPIS = operator.attrgetter("kpis")
_HIRE_DATE = operator.attrgetter("hire_date")
_HR_FLAGS = operator.attrgetter("disciplinary_action", "performance_improvement_plan")
_REVIEW = operator.attrgetter("review_score")


def _rule_key(rule: EligibilityRule, tier: Tier) -> tuple[str, str]:
    """Return what a rule's reasons depend on besides the facts: the rule and move.

    The description is left out; repr, not equality, so 6 and 6.0 months
    (worded differently) stay apart.
    """
    return _rule_text(rule), tier.move if rule.kind in _KEYED_ON_MOVE else ""


def _rule_text(rule: EligibilityRule) -> str:
    # Not cached by the rule: equal rules (6 == 6.0) would share one text.
    return repr(dataclasses.replace(rule, description=""))
