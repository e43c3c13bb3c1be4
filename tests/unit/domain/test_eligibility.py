"""Eligibility rules from the seeds (STEP, SQM): boundaries, plain-words reasons, rule versions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date

import pytest

from lti_tool.domain.eligibility import (
    EligibilityDecision,
    GroupStats,
    PeerIndex,
    PersonFacts,
    Reason,
    evaluate_program,
    evaluate_tier,
    rule_version,
    tenure_months,
)
from lti_tool.domain.programs import (
    CompletionRule,
    EligibilityRule,
    Program,
    RuleKind,
    Tier,
)

AS_OF = date(2026, 11, 23)
FCR = "call_resolution"
Q3 = "2026-Q3"
BILLING_AT_A = (("site", "Site A"), ("line_of_business", "Billing"))
SITE_A = (("site", "Site A"),)

# ---- the seeds' rules ------------------------------------------------------------

TENURE = EligibilityRule(id="tenure", kind=RuleKind.MIN_TENURE_MONTHS, months=6)
HR = EligibilityRule(id="hr-standing", kind=RuleKind.HR_GOOD_STANDING)
REVIEW = EligibilityRule(
    id="review", kind=RuleKind.MIN_REVIEW_SCORE, above=2.0, scale=3.0
)
FCR_QUARTILE = EligibilityRule(
    id="fcr-quartile",
    kind=RuleKind.KPI_QUARTILE,
    kpi=FCR,
    allowed_quartiles=(1, 2),
    group_by=("site", "line_of_business"),
)
FCR_AVERAGE = EligibilityRule(
    id="fcr-average",
    kind=RuleKind.KPI_AT_LEAST_AVERAGE,
    kpi=FCR,
    group_by=("site",),
    fallback_average=88.0,
    min_group_size=4,
)
CSAT_MINIMUM = EligibilityRule(
    id="csat-min", kind=RuleKind.KPI_MINIMUM, kpi="csat", minimum=80.0
)


def tier(
    *rules: EligibilityRule, tier_id: str = "foundation", move: str = "upward"
) -> Tier:
    """Return a tier with only eligibility rules."""
    return Tier(
        id=tier_id,
        title=tier_id.title(),
        description="",
        order=1,
        prerequisites=(),
        eligibility=rules,
        modules=(),
        rotations=(),
        requirements=(),
        completion=CompletionRule(post_test_threshold=0.8, rotation_threshold=0.7),
        move=move,
    )


STEP_TIER = tier(TENURE, HR, REVIEW)
SQM_TIER = tier(
    FCR_QUARTILE, FCR_AVERAGE, CSAT_MINIMUM, tier_id="lateral", move="lateral"
)
PROGRAM = Program(
    id="partnerhero-step",
    version="2024.1",
    title="STEP",
    description="",
    organisation="PartnerHero",
    duration_months=9,
    tiers=(STEP_TIER, SQM_TIER),
)


def facts(**changes: object) -> PersonFacts:
    """Return a person who meets every seed rule, with some facts changed."""
    base = PersonFacts(
        person_id=7,
        hire_date=date(2025, 1, 15),
        site="Site A",
        line_of_business="Billing",
        disciplinary_action=False,
        performance_improvement_plan=False,
        review_score=2.5,
        kpis={FCR: {Q3: 91.0}, "csat": {Q3: 85.0}},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def stats(
    group: tuple[tuple[str, str | None], ...] = BILLING_AT_A,
    count: int = 8,
    mean: float = 88.0,
    cuts: tuple[float, float, float] = (91.0, 81.0, 70.0),
    kpi: str = FCR,
    period: str = Q3,
) -> GroupStats:
    """Return one group's statistics (cut points as for 95 91 85 81 75 70 65 60)."""
    return GroupStats(kpi, period, group, count, mean, *cuts)


PEERS = PeerIndex.from_stats([stats(), stats(SITE_A, count=40, mean=88.0)])


def check(
    rule: EligibilityRule,
    person: PersonFacts,
    peers: PeerIndex = PEERS,
    as_of: date = AS_OF,
    move: str = "upward",
) -> Reason:
    """Return the one reason of a tier holding only `rule`."""
    decision = evaluate_tier(person, PROGRAM, tier(rule, move=move), peers, as_of)
    (reason,) = decision.reasons
    assert decision.eligible is reason.passed
    assert reason.rule_id == rule.id
    assert reason.kind == RuleKind(rule.kind).value
    return reason


# ---- min_tenure_months -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hire", "as_of", "months"),
    [
        pytest.param(date(2026, 1, 15), date(2026, 7, 15), 6, id="exactly-6-months"),
        pytest.param(date(2026, 1, 15), date(2026, 7, 14), 5, id="one-day-short"),
        pytest.param(date(2026, 3, 1), date(2026, 8, 31), 5, id="5-months-30-days"),
        pytest.param(date(2026, 3, 1), date(2026, 9, 1), 6, id="next-day-6-months"),
        pytest.param(date(2025, 12, 31), date(2026, 6, 30), 6, id="dec-31-to-jun-30"),
        pytest.param(date(2026, 1, 31), date(2026, 7, 30), 5, id="jan-31-to-jul-30"),
        pytest.param(date(2026, 1, 31), date(2026, 7, 31), 6, id="jan-31-to-jul-31"),
        pytest.param(date(2026, 1, 31), date(2026, 2, 28), 1, id="month-end-to-feb"),
        pytest.param(date(2026, 1, 31), date(2026, 2, 27), 0, id="day-before-feb-end"),
        pytest.param(date(2025, 8, 31), date(2026, 2, 28), 6, id="aug-31-to-feb-28"),
        pytest.param(date(2024, 2, 29), date(2024, 8, 29), 6, id="leap-day-hire"),
        pytest.param(date(2024, 2, 29), date(2024, 8, 28), 5, id="leap-day-hire-short"),
        pytest.param(
            date(2024, 2, 29), date(2025, 2, 28), 12, id="leap-day-anniversary"
        ),
        pytest.param(date(2023, 8, 31), date(2024, 2, 29), 6, id="to-leap-day"),
        pytest.param(date(2023, 8, 31), date(2024, 2, 28), 5, id="day-before-leap-day"),
        pytest.param(date(2023, 11, 30), date(2026, 11, 23), 35, id="years"),
        pytest.param(date(2026, 12, 1), date(2026, 11, 23), 0, id="hired-later"),
        pytest.param(date(2026, 11, 23), date(2026, 11, 23), 0, id="first-day"),
    ],
)
def test_tenure_counts_whole_calendar_months_with_month_end_anniversaries(
    hire: date, as_of: date, months: int
) -> None:
    assert tenure_months(hire, as_of) == months
    reason = check(TENURE, facts(hire_date=hire), as_of=as_of)
    assert reason.passed is (months >= 6)
    assert reason.inputs["tenure_months"] == months


@pytest.mark.parametrize(
    ("as_of", "passed", "message"),
    [
        pytest.param(
            date(2026, 6, 30),
            False,
            "You have been with the company 5 months; this tier needs 6.",
            id="short",
        ),
        pytest.param(
            date(2026, 2, 1),
            False,
            "You have been with the company 1 month; this tier needs 6.",
            id="one-month",
        ),
        pytest.param(
            date(2026, 8, 1),
            True,
            "You have 7 months of tenure (6 needed).",
            id="enough",
        ),
    ],
)
def test_tenure_message_gives_both_numbers(
    as_of: date, passed: bool, message: str
) -> None:
    reason = check(TENURE, facts(hire_date=date(2026, 1, 1)), as_of=as_of)
    assert (reason.passed, reason.message) == (passed, message)
    assert reason.inputs == {
        "hire_date": "2026-01-01",
        "as_of": as_of.isoformat(),
        "tenure_months": reason.inputs["tenure_months"],
        "required_months": 6,
    }


def test_tenure_without_a_hire_date_fails_and_says_whom_to_ask() -> None:
    reason = check(TENURE, facts(hire_date=None))
    assert not reason.passed
    assert reason.message == (
        "We have no hire date for you yet; ask HR to update your record."
    )
    assert reason.inputs["hire_date"] is None


# ---- hr_good_standing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("disciplinary", "pip", "passed", "named", "not_named"),
    [
        pytest.param(
            False, False, True, ["good HR standing"], ["disciplinary"], id="clear"
        ),
        pytest.param(
            True,
            False,
            False,
            ["disciplinary action"],
            ["performance improvement plan"],
            id="disciplinary",
        ),
        pytest.param(
            False,
            True,
            False,
            ["performance improvement plan"],
            ["disciplinary"],
            id="pip",
        ),
        pytest.param(
            True,
            True,
            False,
            ["disciplinary action and an active performance improvement plan"],
            [],
            id="both",
        ),
    ],
)
def test_hr_standing_names_only_what_blocks_the_tier(
    disciplinary: bool,
    pip: bool,
    passed: bool,
    named: list[str],
    not_named: list[str],
) -> None:
    reason = check(
        HR, facts(disciplinary_action=disciplinary, performance_improvement_plan=pip)
    )
    assert reason.passed is passed
    for words in named:
        assert words in reason.message
    for words in not_named:
        assert words not in reason.message
    assert reason.inputs == {
        "disciplinary_action": disciplinary,
        "performance_improvement_plan": pip,
    }


# ---- min_review_score ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "passed", "message"),
    [
        pytest.param(
            2.0,
            False,
            "Your last review score is 2.0 out of 3.0; this tier needs more than 2.0.",
            id="exactly-2-fails",
        ),
        pytest.param(
            2.01,
            True,
            "Your last review score (2.01 out of 3.0) is above the 2.0 this tier needs.",
            id="2.01-passes",
        ),
        pytest.param(3.0, True, None, id="top-of-scale"),
        pytest.param(1.99, False, None, id="below"),
        pytest.param(
            None,
            False,
            "We have no performance review on record for you yet; this tier needs "
            "a review score above 2.0 out of 3.0.",
            id="no-review",
        ),
    ],
)
def test_review_score_must_be_strictly_above_the_bar(
    score: float | None, passed: bool, message: str | None
) -> None:
    reason = check(REVIEW, facts(review_score=score))
    assert reason.passed is passed
    if message is not None:
        assert reason.message == message
    assert reason.inputs == {"review_score": score, "above": 2.0, "scale": 3.0}


def test_review_without_a_scale_leaves_out_the_scale() -> None:
    rule = dataclasses.replace(REVIEW, scale=None)
    reason = check(rule, facts(review_score=1.5))
    assert (
        reason.message
        == "Your last review score is 1.5; this tier needs more than 2.0."
    )


# ---- kpi_quartile ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "quartile", "passed"),
    [
        pytest.param(99.0, 1, True, id="top"),
        pytest.param(91.0, 1, True, id="exactly-q1-min"),
        pytest.param(90.99, 2, True, id="just-below-q1-min"),
        pytest.param(81.0, 2, True, id="exactly-q2-min-is-q2"),
        pytest.param(80.99, 3, False, id="just-below-q2-min-is-q3"),
        pytest.param(70.0, 3, False, id="exactly-q3-min"),
        pytest.param(69.99, 4, False, id="just-below-q3-min-is-q4"),
        pytest.param(0.0, 4, False, id="bottom"),
    ],
)
def test_quartile_rule_passes_the_top_two_quartiles_only(
    value: float, quartile: int, passed: bool
) -> None:
    reason = check(FCR_QUARTILE, facts(kpis={FCR: {Q3: value}}))
    assert (reason.passed, reason.inputs["quartile"]) == (passed, quartile)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            91.0,
            "Your call resolution (91 %) is in the top quartile for Billing at Site A in 2026-Q3.",
            id="top",
        ),
        pytest.param(
            85.5,
            "Your call resolution (85.5 %) is in the second quartile for Billing at Site A in 2026-Q3.",
            id="second",
        ),
        pytest.param(
            76.0,
            "Your call resolution (76 %) is in the third quartile for Billing at Site A "
            "in 2026-Q3; the second quartile starts at 81 %.",
            id="third",
        ),
        pytest.param(
            60.0,
            "Your call resolution (60 %) is in the bottom quartile for Billing at Site A "
            "in 2026-Q3; the second quartile starts at 81 %.",
            id="bottom",
        ),
        pytest.param(
            80.999,
            "Your call resolution (80.999 %) is in the third quartile for Billing at "
            "Site A in 2026-Q3; the second quartile starts at 81 %.",
            id="enough-decimals-to-tell-apart",
        ),
    ],
)
def test_quartile_message_says_where_you_are_and_where_the_next_quartile_starts(
    value: float, message: str
) -> None:
    assert check(FCR_QUARTILE, facts(kpis={FCR: {Q3: value}})).message == message


def test_quartile_inputs_record_the_group_and_cut_points() -> None:
    reason = check(FCR_QUARTILE, facts(kpis={FCR: {Q3: 76.0}}))
    assert reason.inputs == {
        "kpi": FCR,
        "period": Q3,
        "value": 76.0,
        "group": "Billing at Site A",
        "site": "Site A",
        "line_of_business": "Billing",
        "group_count": 8,
        "min_group_size": 4,
        "q1_min": 91.0,
        "q2_min": 81.0,
        "q3_min": 70.0,
        "quartile": 3,
        "allowed_quartiles": (1, 2),
    }


def test_quartile_uses_the_latest_period_with_a_value() -> None:
    peers = PeerIndex.from_stats([stats(), stats(period="2026-Q2", cuts=(50, 40, 30))])
    person = facts(kpis={FCR: {"2026-Q2": 60.0, Q3: 60.0}})
    reason = check(FCR_QUARTILE, person, peers=peers)
    assert (reason.inputs["period"], reason.inputs["quartile"]) == (Q3, 4)


@pytest.mark.parametrize(
    "allowed",
    [(1, 2), (1,), (2,), ()],
    ids=["top-two", "top", "second", "none"],
)
def test_the_bottom_quartile_is_never_eligible_unless_allowed(
    allowed: tuple[int, ...],
) -> None:
    rule = dataclasses.replace(FCR_QUARTILE, allowed_quartiles=allowed)
    assert not check(rule, facts(kpis={FCR: {Q3: 50.0}})).passed


@pytest.mark.parametrize(
    ("allowed", "value", "ending"),
    [
        pytest.param((1,), 85.0, "; the top quartile starts at 91 %.", id="top-only"),
        pytest.param(
            (3, 4),
            95.0,
            "; this tier is for the third and bottom quartiles.",
            id="lower-only",
        ),
        pytest.param(
            (3,), 95.0, "; this tier is for the third quartile.", id="one-lower"
        ),
        pytest.param((), 95.0, "; this tier is not open to any quartile.", id="none"),
        pytest.param(
            (0, 5),
            95.0,
            "; this tier is not open to any quartile.",
            id="no-such-quartiles",
        ),
    ],
)
def test_quartile_message_for_other_allowed_quartiles(
    allowed: tuple[int, ...], value: float, ending: str
) -> None:
    rule = dataclasses.replace(FCR_QUARTILE, allowed_quartiles=allowed)
    reason = check(rule, facts(kpis={FCR: {Q3: value}}))
    assert not reason.passed
    assert reason.message.endswith(ending)


@pytest.mark.parametrize(
    ("count", "passed"),
    [
        pytest.param(1, False, id="single-value-group"),
        pytest.param(3, False, id="group-of-3-too-small"),
        pytest.param(4, True, id="group-of-4-ranked"),
    ],
)
def test_quartile_rule_does_not_rank_groups_smaller_than_four(
    count: int, passed: bool
) -> None:
    peers = PeerIndex.from_stats([stats(count=count, cuts=(91, 91, 91))])
    reason = check(FCR_QUARTILE, facts(kpis={FCR: {Q3: 91.0}}), peers=peers)
    assert reason.passed is passed
    if not passed:
        assert "too few colleagues to rank you fairly" in reason.message
        assert "Billing at Site A" in reason.message
        assert f"{count} " in reason.message


def test_quartile_rule_honours_a_larger_minimum_group() -> None:
    rule = dataclasses.replace(FCR_QUARTILE, min_group_size=10)
    reason = check(rule, facts())
    assert not reason.passed
    assert (
        "Only 8 people in Billing at Site A have call resolution figures"
        in reason.message
    )
    assert "we need at least 10" in reason.message


def test_quartile_rule_without_group_statistics_fails_honestly() -> None:
    reason = check(FCR_QUARTILE, facts(line_of_business="Claims"))
    assert not reason.passed
    assert reason.message == (
        "We have no call resolution figures yet for your colleagues in Claims at "
        "Site A for 2026-Q3, so we cannot rank you; we will check again when we do."
    )


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        pytest.param({"site": None}, "site", id="no-site"),
        pytest.param({"line_of_business": None}, "line of business", id="no-line"),
        pytest.param(
            {"site": None, "line_of_business": None},
            "site or line of business",
            id="neither",
        ),
    ],
)
def test_quartile_rule_does_not_rank_someone_without_a_group(
    changes: dict[str, object], missing: str
) -> None:
    reason = check(FCR_QUARTILE, facts(**changes))
    assert not reason.passed
    assert f"We have no {missing} on record for you" in reason.message


@pytest.mark.parametrize(
    "kpis",
    [{}, {FCR: {}}, {"csat": {Q3: 90.0}}, {FCR: {Q3: float("nan")}}],
    ids=["no-kpis", "no-periods", "other-kpi-only", "nan"],
)
def test_kpi_rules_without_your_figures_fail_and_say_so(
    kpis: Mapping[str, Mapping[str, float]],
) -> None:
    for rule in (FCR_QUARTILE, FCR_AVERAGE):
        reason = check(rule, facts(kpis=kpis))
        assert not reason.passed
        assert "no call resolution figures for you yet" in reason.message


def test_quartile_defaults_to_site_and_line_of_business() -> None:
    rule = dataclasses.replace(FCR_QUARTILE, group_by=())
    assert check(rule, facts()).inputs["group"] == "Billing at Site A"


# ---- kpi_at_least_average ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "passed"),
    [
        pytest.param(88.0, True, id="exactly-the-average-passes"),
        pytest.param(87.99, False, id="just-below-fails"),
        pytest.param(95.0, True, id="above"),
    ],
)
def test_lateral_moves_need_at_least_the_centre_average(
    value: float, passed: bool
) -> None:
    reason = check(FCR_AVERAGE, facts(kpis={FCR: {Q3: value}}), move="lateral")
    assert reason.passed is passed
    assert reason.inputs["average"] == 88.0
    assert reason.inputs["fallback_used"] is False


@pytest.mark.parametrize(
    ("move", "value", "message"),
    [
        pytest.param(
            "lateral",
            86.0,
            "Your call resolution is 86 % in 2026-Q3; lateral moves need at least "
            "the average for Site A (88 %).",
            id="lateral-fail",
        ),
        pytest.param(
            "upward",
            86.0,
            "Your call resolution is 86 % in 2026-Q3; this tier needs at least "
            "the average for Site A (88 %).",
            id="upward-fail",
        ),
        pytest.param(
            "lateral",
            88.0,
            "Your call resolution (88 %) in 2026-Q3 is at or above the average for "
            "Site A (88 %).",
            id="pass",
        ),
        pytest.param(
            "lateral",
            87.99,
            "Your call resolution is 87.99 % in 2026-Q3; lateral moves need at least "
            "the average for Site A (88 %).",
            id="just-below",
        ),
    ],
)
def test_average_message_gives_your_figure_and_the_average(
    move: str, value: float, message: str
) -> None:
    reason = check(FCR_AVERAGE, facts(kpis={FCR: {Q3: value}}), move=move)
    assert reason.message == message


def test_average_of_a_small_group_falls_back_to_the_centre_average() -> None:
    peers = PeerIndex.from_stats([stats(SITE_A, count=3, mean=95.0)])
    reason = check(FCR_AVERAGE, facts(kpis={FCR: {Q3: 90.0}}), peers=peers)
    assert reason.passed
    assert reason.inputs["fallback_used"] is True
    assert reason.inputs["average"] == 88.0
    assert reason.inputs["group_mean"] == 95.0
    assert reason.message == (
        "Your call resolution (90 %) in 2026-Q3 is at or above the centre average "
        "of 88 % (used because only 3 people in Site A have call resolution "
        "figures for 2026-Q3)."
    )


def test_average_falls_back_when_you_have_no_site() -> None:
    reason = check(
        FCR_AVERAGE, facts(site=None, kpis={FCR: {Q3: 87.0}}), move="lateral"
    )
    assert not reason.passed
    assert reason.inputs["fallback_used"] is True
    assert "we have no site on record for you" in reason.message
    assert "87 %" in reason.message
    assert "88 %" in reason.message


def test_average_of_a_small_group_without_fallback_fails_honestly() -> None:
    rule = dataclasses.replace(FCR_AVERAGE, fallback_average=None)
    peers = PeerIndex.from_stats([stats(SITE_A, count=2, mean=50.0)])
    reason = check(rule, facts(kpis={FCR: {Q3: 99.0}}), peers=peers)
    assert not reason.passed
    assert reason.message == (
        "We cannot work out a fair call resolution average to compare you with, "
        "because only 2 people in Site A have call resolution figures for 2026-Q3; "
        "we will check again when there are more figures."
    )


@pytest.mark.parametrize(
    ("peers", "why"),
    [
        pytest.param(
            PeerIndex.from_stats([]),
            "nobody in Site A has call resolution figures for 2026-Q3 yet",
            id="no-stats",
        ),
        pytest.param(
            PeerIndex.from_stats([stats(SITE_A, count=1, mean=99.0)]),
            "only 1 person in Site A has call resolution figures for 2026-Q3",
            id="one-person",
        ),
    ],
)
def test_average_says_why_it_uses_the_fallback(peers: PeerIndex, why: str) -> None:
    reason = check(FCR_AVERAGE, facts(), peers=peers)
    assert reason.passed
    assert f"the centre average of 88 % (used because {why})" in reason.message


def test_average_defaults_to_the_site() -> None:
    rule = dataclasses.replace(FCR_AVERAGE, group_by=())
    assert check(rule, facts()).inputs["group"] == "Site A"


# ---- kpi_minimum ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("csat", "passed", "message"),
    [
        pytest.param(
            80.0,
            True,
            "Your CSAT (80 %) in 2026-Q3 meets the minimum of 80 %.",
            id="exactly-the-minimum",
        ),
        pytest.param(
            79.99,
            False,
            "Your CSAT is 79.99 % in 2026-Q3; this tier needs at least 80 %.",
            id="just-below",
        ),
        pytest.param(
            None,
            False,
            "We have no CSAT figures for you yet, so we cannot check this.",
            id="none",
        ),
    ],
)
def test_kpi_minimum_is_at_or_above(
    csat: float | None, passed: bool, message: str
) -> None:
    kpis = {"csat": {Q3: csat}} if csat is not None else {}
    reason = check(CSAT_MINIMUM, facts(kpis=kpis))
    assert (reason.passed, reason.message) == (passed, message)


def test_an_unknown_kpi_is_named_in_plain_words() -> None:
    rule = dataclasses.replace(CSAT_MINIMUM, kpi="average_handle_score")
    reason = check(rule, facts(kpis={"average_handle_score": {Q3: 10.0}}))
    assert reason.message.startswith("Your average handle score is 10 %")


@pytest.mark.parametrize(
    "rule",
    [
        dataclasses.replace(TENURE, months=None),
        dataclasses.replace(REVIEW, above=None),
        dataclasses.replace(FCR_QUARTILE, kpi=None),
        dataclasses.replace(CSAT_MINIMUM, minimum=None),
    ],
    ids=["months", "above", "kpi", "minimum"],
)
def test_a_rule_missing_its_parameter_is_a_program_error(rule: EligibilityRule) -> None:
    with pytest.raises(ValueError, match="needs"):
        check(rule, facts())


# ---- decisions -------------------------------------------------------------------------------


def test_a_person_meeting_every_rule_is_eligible_with_a_reason_per_rule() -> None:
    decision = evaluate_tier(facts(), PROGRAM, STEP_TIER, PEERS, AS_OF)
    assert decision.eligible
    assert [r.rule_id for r in decision.reasons] == ["tenure", "hr-standing", "review"]
    assert decision.failed() == ()
    assert (decision.person_id, decision.program_id, decision.program_version) == (
        7,
        "partnerhero-step",
        "2024.1",
    )
    assert (decision.tier_id, decision.as_of) == ("foundation", AS_OF)
    assert decision.rule_version == rule_version(STEP_TIER)


def test_one_failed_rule_makes_the_tier_ineligible_and_is_listed() -> None:
    decision = evaluate_tier(
        facts(review_score=2.0, performance_improvement_plan=True),
        PROGRAM,
        STEP_TIER,
        PEERS,
        AS_OF,
    )
    assert not decision.eligible
    assert [r.rule_id for r in decision.failed()] == ["hr-standing", "review"]


def test_a_tier_without_rules_is_open_to_everyone() -> None:
    decision = evaluate_tier(facts(hire_date=None), PROGRAM, tier(), PEERS, AS_OF)
    assert decision.eligible
    assert decision.reasons == ()


def test_evaluate_program_decides_every_tier_in_order() -> None:
    decisions = evaluate_program(facts(), PROGRAM, PEERS, AS_OF)
    assert [d.tier_id for d in decisions] == ["foundation", "lateral"]
    assert all(d.eligible for d in decisions)


def test_a_decision_is_stored_as_json_with_every_input() -> None:
    decision = evaluate_tier(
        facts(kpis={FCR: {Q3: 76.0}, "csat": {Q3: 85.0}}),
        PROGRAM,
        SQM_TIER,
        PEERS,
        AS_OF,
    )
    data = decision.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["as_of"] == "2026-11-23"
    assert data["eligible"] is False
    assert data["rule_version"] == rule_version(SQM_TIER)
    reasons = data["reasons"]
    assert isinstance(reasons, list)
    assert [r["rule_id"] for r in reasons] == [
        "fcr-quartile",
        "fcr-average",
        "csat-min",
    ]
    assert reasons[0]["inputs"]["allowed_quartiles"] == [1, 2]
    assert reasons[0]["kind"] == "kpi_quartile"
    assert reasons[0]["message"] == decision.reasons[0].message


def test_decisions_are_values() -> None:
    first = evaluate_tier(facts(), PROGRAM, SQM_TIER, PEERS, AS_OF)
    again = evaluate_tier(facts(), PROGRAM, SQM_TIER, PEERS, AS_OF)
    assert first == again
    assert isinstance(first, EligibilityDecision)
    with pytest.raises(TypeError):
        first.reasons[0].inputs["value"] = 1.0  # type: ignore[index]


def test_rules_work_against_an_index_built_from_the_population() -> None:
    values = [95.0, 91.0, 85.0, 81.0, 75.0, 70.0, 65.0, 60.0]
    people = [
        facts(person_id=i, kpis={FCR: {Q3: v}}) for i, v in enumerate(values, start=1)
    ]
    peers = PeerIndex.build(people)
    outcomes = [
        evaluate_tier(p, PROGRAM, tier(FCR_QUARTILE), peers, AS_OF).eligible
        for p in people
    ]
    assert outcomes == [True, True, True, True, False, False, False, False]


# ---- rule versions ----------------------------------------------------------------------------


def test_rule_version_is_16_hex_characters_and_stable() -> None:
    version = rule_version(SQM_TIER)
    assert len(version) == 16
    assert int(version, 16) >= 0
    assert rule_version(tier(FCR_QUARTILE, FCR_AVERAGE, CSAT_MINIMUM)) == version


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(
            tier(dataclasses.replace(TENURE, months=7), HR, REVIEW), id="months"
        ),
        pytest.param(
            tier(TENURE, HR, dataclasses.replace(REVIEW, above=2.5)), id="above"
        ),
        pytest.param(
            tier(TENURE, HR, dataclasses.replace(REVIEW, scale=5.0)), id="scale"
        ),
        pytest.param(tier(TENURE, HR), id="rule-removed"),
        pytest.param(tier(HR, TENURE, REVIEW), id="reordered"),
        pytest.param(
            tier(TENURE, dataclasses.replace(HR, id="hr"), REVIEW), id="rule-id"
        ),
        pytest.param(
            tier(
                TENURE,
                HR,
                REVIEW,
                dataclasses.replace(FCR_QUARTILE, allowed_quartiles=(1,)),
            ),
            id="added",
        ),
    ],
)
def test_rule_version_changes_with_any_rule_parameter(changed: Tier) -> None:
    assert rule_version(changed) != rule_version(STEP_TIER)


@pytest.mark.parametrize(
    ("original", "changed"),
    [
        pytest.param(
            FCR_QUARTILE,
            dataclasses.replace(FCR_QUARTILE, allowed_quartiles=(1, 2, 3)),
            id="allowed-quartiles",
        ),
        pytest.param(
            FCR_QUARTILE,
            dataclasses.replace(FCR_QUARTILE, group_by=("site",)),
            id="group-by",
        ),
        pytest.param(
            FCR_AVERAGE,
            dataclasses.replace(FCR_AVERAGE, fallback_average=85.0),
            id="fallback",
        ),
        pytest.param(
            FCR_AVERAGE,
            dataclasses.replace(FCR_AVERAGE, min_group_size=10),
            id="min-group",
        ),
        pytest.param(
            CSAT_MINIMUM,
            dataclasses.replace(CSAT_MINIMUM, kpi="quality_score"),
            id="kpi",
        ),
        pytest.param(
            CSAT_MINIMUM, dataclasses.replace(CSAT_MINIMUM, minimum=80.5), id="minimum"
        ),
    ],
)
def test_rule_version_changes_with_kpi_rule_parameters(
    original: EligibilityRule, changed: EligibilityRule
) -> None:
    assert rule_version(tier(original)) != rule_version(tier(changed))


# As a loosely typed loader might build them.
TENURE_AS_FLOAT = dataclasses.replace(TENURE, months=6.0)  # type: ignore[arg-type]
REVIEW_KIND_AS_STRING = dataclasses.replace(REVIEW, kind="min_review_score")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "same",
    [
        pytest.param(
            tier(
                dataclasses.replace(TENURE, description="Six months with us"),
                HR,
                REVIEW,
            ),
            id="description",
        ),
        pytest.param(tier(TENURE_AS_FLOAT, HR, REVIEW), id="6.0-is-6"),
        pytest.param(
            dataclasses.replace(STEP_TIER, title="Renamed", move="lateral"),
            id="tier-wording",
        ),
        pytest.param(tier(TENURE, HR, REVIEW_KIND_AS_STRING), id="kind-as-string"),
    ],
)
def test_rule_version_ignores_what_does_not_change_a_rule(same: Tier) -> None:
    assert rule_version(same) == rule_version(STEP_TIER)
