"""Server-side scoring, presentation order and learning gain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.assessments import (
    AnswerError,
    LearningGain,
    choose_form,
    presentation,
    score_attempt,
    score_item,
)
from lti_tool.domain.programs import (
    Assessment,
    AssessmentKind,
    Choice,
    Form,
    Item,
    ItemKind,
)

ABCD = tuple(Choice(c, c.upper()) for c in "abcd")
SINGLE = Item("s", ItemKind.SINGLE_CHOICE, "?", ABCD, ("b",))
MULTI = Item("m", ItemKind.MULTIPLE_CHOICE, "?", ABCD, ("a", "c"))
PARTIAL = Item(
    "p", ItemKind.MULTIPLE_CHOICE, "?", ABCD, ("a", "c"), partial_credit=True
)
TRUE_FALSE = Item("t", ItemKind.TRUE_FALSE, "?", (), ("false",))
NUMERIC = Item("n", ItemKind.NUMERIC, "?", answer=90.0, tolerance=0.5, points=2)
ITEMS = {i.id: i for i in (SINGLE, MULTI, PARTIAL, TRUE_FALSE, NUMERIC)}


@pytest.mark.parametrize(
    ("item", "answer", "points"),
    [
        (SINGLE, ["b"], 1),
        (SINGLE, ["a"], 0),
        (SINGLE, [], 0),
        (MULTI, ["a", "c"], 1),
        (MULTI, ["c", "a"], 1),
        (MULTI, ["a"], 0),
        (MULTI, ["a", "c", "d"], 0),
        (PARTIAL, ["a"], 0.5),
        (PARTIAL, ["a", "d"], 0),
        (PARTIAL, ["a", "c"], 1),
        (TRUE_FALSE, ["false"], 1),
        (TRUE_FALSE, ["true"], 0),
        (NUMERIC, ["90"], 2),
        (NUMERIC, ["90.5"], 2),
        (NUMERIC, ["89,6"], 2),
        (NUMERIC, ["90 %"], 2),
        (NUMERIC, ["90.6"], 0),
        (NUMERIC, [""], 0),
    ],
)
def test_item_scores(item: Item, answer: list[str], points: float) -> None:
    assert score_item(item, answer).points == pytest.approx(points)


@pytest.mark.parametrize(
    ("item", "answer"),
    [
        (SINGLE, ["z"]),
        (SINGLE, ["a", "b"]),
        (MULTI, ["a", "a"]),
        (TRUE_FALSE, ["maybe"]),
        (NUMERIC, ["ninety"]),
        (NUMERIC, ["nan"]),
        (NUMERIC, ["1", "2"]),
    ],
)
def test_answers_that_do_not_fit_the_item_are_refused(
    item: Item, answer: list[str]
) -> None:
    with pytest.raises(AnswerError):
        score_item(item, answer)


def test_attempt_totals_and_unanswered_items_score_zero() -> None:
    form = Form("A", ("s", "t", "n"))
    score = score_attempt(form, ITEMS, {"s": ["b"], "n": ["90"]})
    assert (score.points, score.max_points) == (3, 4)
    assert score.passed(0.75)
    assert not score.passed(0.8)


def test_eight_of_ten_passes_an_eighty_percent_threshold_despite_float_error() -> None:
    items = {
        f"i{n}": Item(f"i{n}", ItemKind.TRUE_FALSE, "?", (), ("true",), points=0.1)
        for n in range(10)
    }
    form = Form("A", tuple(items))
    answers = {f"i{n}": ["true"] for n in range(8)}
    assert score_attempt(form, items, answers).passed(0.8)


def test_presentation_is_shuffled_per_attempt_but_stable_for_a_seed() -> None:
    assessment = Assessment("x", AssessmentKind.PRE, (Form("A", tuple(ITEMS)),))
    first = presentation(assessment, assessment.forms[0], ITEMS, "attempt:1")
    assert first == presentation(assessment, assessment.forms[0], ITEMS, "attempt:1")
    orders = {
        tuple(
            p.item_id
            for p in presentation(
                assessment, assessment.forms[0], ITEMS, f"attempt:{n}"
            )
        )
        for n in range(20)
    }
    assert len(orders) > 1
    assert sorted(p.item_id for p in first) == sorted(ITEMS)


def test_parallel_forms_rotate_between_attempts() -> None:
    forms = (Form("A", ("s",)), Form("B", ("t",)))
    assessment = Assessment("x", AssessmentKind.POST, forms)
    picked = [choose_form(assessment, "person-7", n).id for n in (1, 2, 3)]
    assert picked[0] != picked[1]
    assert picked[0] == picked[2]


def test_normalised_gain_is_undefined_when_the_pre_test_was_perfect() -> None:
    assert LearningGain(1.0, 1.0).normalised is None
    assert LearningGain(0.5, 0.75).normalised == pytest.approx(0.5)
    assert LearningGain(0.5, 0.75).raw == pytest.approx(0.25)


fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(pre=fractions, post=fractions)
def test_gain_is_bounded_and_signed_like_the_raw_gain(pre: float, post: float) -> None:
    gain = LearningGain(pre, post)
    assert -1.0 <= gain.raw <= 1.0
    normalised = gain.normalised
    if normalised is not None:
        assert normalised <= 1.0 + 1e-9
        assert (normalised > 0) == (gain.raw > 0)
        if post == 1.0:
            assert normalised == pytest.approx(1.0)
