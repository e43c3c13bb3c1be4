"""BatchEvaluator gives exactly evaluate_tier's decisions for a whole population."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

from lti_tool.domain.eligibility import (
    BatchEvaluator,
    PeerIndex,
    PersonFacts,
    evaluate_tier,
)
from lti_tool.domain.programs import EligibilityRule, RuleKind
from tests.unit.domain.test_eligibility import (
    AS_OF,
    CSAT_MINIMUM,
    FCR,
    FCR_AVERAGE,
    FCR_QUARTILE,
    HR,
    PROGRAM,
    REVIEW,
    TENURE,
    tier,
)

NAN = float("nan")


def population(n: int, seed: int = 5) -> list[PersonFacts]:
    """People with every edge the rules have: missing facts, NaN, several periods."""
    rng = random.Random(seed)
    people = []
    for person_id in range(1, n + 1):
        kpis: dict[str, dict[str, float]] = {}
        for kpi in (FCR, "csat"):
            periods = {
                p: round(rng.uniform(60, 100), rng.choice((0, 1, 2)))
                for p in ("2026-Q1", "2026-Q2", "2026-Q3")
                if rng.random() < 0.8
            }
            if periods and rng.random() < 0.1:
                periods[max(periods)] = NAN
            kpis[kpi] = periods
        people.append(
            PersonFacts(
                person_id=person_id,
                hire_date=None
                if rng.random() < 0.03
                else date(2024, rng.randint(1, 12), rng.randint(1, 28)),
                site=rng.choice(("Site A", "Site B", "Site C", None)),
                line_of_business=rng.choice(("Billing", "Claims", None)),
                disciplinary_action=rng.random() < 0.1,
                performance_improvement_plan=rng.random() < 0.1,
                review_score=None
                if rng.random() < 0.05
                else rng.choice((1.5, 2.0, 2.5, 3.0)),
                kpis=kpis,
            )
        )
    return people


SIX_POINT_O = EligibilityRule(id="tenure", kind=RuleKind.MIN_TENURE_MONTHS, months=6.0)  # type: ignore[arg-type]
TIERS = (
    tier(TENURE, HR, REVIEW, tier_id="one"),
    tier(TENURE, HR, REVIEW, tier_id="two"),
    tier(FCR_QUARTILE, FCR_AVERAGE, tier_id="lateral", move="lateral"),
    tier(FCR_QUARTILE, FCR_AVERAGE, tier_id="upward"),
    tier(FCR_QUARTILE, CSAT_MINIMUM, SIX_POINT_O, tier_id="three"),
    tier(tier_id="open"),
)
BIG = dataclasses.replace(PROGRAM, tiers=TIERS)


def test_every_decision_equals_evaluate_tier() -> None:
    people = population(600)
    peers = PeerIndex.build(people)
    batch = BatchEvaluator(people, peers, AS_OF)
    for t in TIERS:
        reasons = batch.reasons(t)
        eligible = batch.eligible(t)
        assert len(reasons) == len(eligible) == len(people)
        for index, person in enumerate(people):
            expected = evaluate_tier(person, BIG, t, peers, AS_OF)
            assert batch.decision(index, BIG, t) == expected
            assert reasons[index] == expected.reasons
            assert eligible[index] is expected.eligible
            assert expected.to_json() == batch.decision(index, BIG, t).to_json()
    assert 0 < sum(batch.eligible(TIERS[0])) < len(people)


def test_tiers_with_the_same_rules_share_one_evaluation_but_not_across_moves() -> None:
    people = population(50)
    batch = BatchEvaluator(people, PeerIndex.build(people), AS_OF)
    assert batch.reasons(TIERS[0]) is batch.reasons(TIERS[1])
    assert batch.plan_key(TIERS[2]) != batch.plan_key(TIERS[3])
    # 6 and 6.0 months share a fingerprint but not their wording.
    assert batch.plan_key(tier(TENURE)) != batch.plan_key(tier(SIX_POINT_O))


def test_an_empty_population_gives_empty_columns() -> None:
    batch = BatchEvaluator([], PeerIndex.build([]), AS_OF)
    assert batch.reasons(TIERS[0]) == []
    assert batch.eligible(TIERS[5]) == []
