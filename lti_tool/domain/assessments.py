"""Scoring, presentation order and learning gain for pre/post assessments.

Scoring happens only on the server: the browser gets prompts and choice texts,
never `correct`, `answer` or explanations, before it submits.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lti_tool.domain.programs import Assessment, Form, Item, ItemKind


class AnswerError(ValueError):
    """Raised when a submitted answer does not fit its item (unknown choice, not a number)."""


@dataclass(frozen=True)
class PresentedItem:
    """An item as shown to the learner: ids in display order, no answers."""

    item_id: str
    choice_ids: tuple[str, ...]


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one answered item."""

    item_id: str
    answer: tuple[str, ...]
    points: float
    max_points: float

    @property
    def correct(self) -> bool:
        return math.isclose(self.points, self.max_points)


@dataclass(frozen=True)
class AttemptScore:
    """The total of one attempt."""

    points: float
    max_points: float
    items: tuple[ItemResult, ...]

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0

    def passed(self, threshold: float) -> bool:
        # A tiny epsilon so 8/10 passes a 0.8 threshold despite float error.
        return self.fraction + 1e-9 >= threshold


def _rng(seed: str) -> random.Random:
    digest = hashlib.sha256(seed.encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 (order, not secrets)


def choose_form(assessment: Assessment, learner_key: str, attempt_number: int) -> Form:
    """Pick the form for an attempt: rotate through parallel forms per learner."""
    forms = assessment.forms
    start = _rng(f"{assessment.id}:{learner_key}").randrange(len(forms))
    return forms[(start + attempt_number - 1) % len(forms)]


def presentation(
    assessment: Assessment, form: Form, items: Mapping[str, Item], seed: str
) -> tuple[PresentedItem, ...]:
    """Return the form's items (and their choices) in this attempt's shuffled order."""
    rng = _rng(seed)
    order = list(form.item_ids)
    if assessment.shuffle_items:
        rng.shuffle(order)
    presented = []
    for item_id in order:
        item = items[item_id]
        choices = [choice.id for choice in item.choices]
        if assessment.shuffle_choices:
            rng.shuffle(choices)
        presented.append(PresentedItem(item_id, tuple(choices)))
    return tuple(presented)


def score_item(item: Item, answer: Sequence[str]) -> ItemResult:
    """Score one answer: choice ids, "true"/"false", or one number as text."""
    given = tuple(a.strip() for a in answer if a.strip())
    points = 0.0
    if item.kind is ItemKind.NUMERIC:
        if len(given) > 1:
            raise AnswerError(f"{item.id}: one number expected")
        if given:
            try:
                value = float(given[0].replace(",", ".").rstrip("%").strip())
            except ValueError:
                raise AnswerError(f"{item.id}: {given[0]!r} is not a number") from None
            if not math.isfinite(value):
                raise AnswerError(f"{item.id}: {given[0]!r} is not a number")
            assert item.answer is not None
            if abs(value - item.answer) <= item.tolerance + 1e-9:
                points = item.points
    elif item.kind is ItemKind.TRUE_FALSE:
        if any(a not in ("true", "false") for a in given) or len(given) > 1:
            raise AnswerError(f"{item.id}: answer true or false")
        if given and given[0] == item.correct[0]:
            points = item.points
    else:
        known = {choice.id for choice in item.choices}
        if any(a not in known for a in given) or len(set(given)) != len(given):
            raise AnswerError(f"{item.id}: unknown or repeated choice")
        if item.kind is ItemKind.SINGLE_CHOICE and len(given) > 1:
            raise AnswerError(f"{item.id}: choose one answer")
        correct = set(item.correct)
        chosen = set(given)
        if chosen == correct:
            points = item.points
        elif item.kind is ItemKind.MULTIPLE_CHOICE and item.partial_credit and chosen:
            # Right picks minus wrong picks, never below zero.
            right = len(chosen & correct) - len(chosen - correct)
            points = max(0.0, item.points * right / len(correct))
    return ItemResult(item.id, given, points, item.points)


def score_attempt(
    form: Form, items: Mapping[str, Item], answers: Mapping[str, Sequence[str]]
) -> AttemptScore:
    """Score every item of the form; an unanswered item scores zero."""
    results = tuple(score_item(items[i], answers.get(i, ())) for i in form.item_ids)
    return AttemptScore(
        points=sum(r.points for r in results),
        max_points=sum(r.max_points for r in results),
        items=results,
    )


@dataclass(frozen=True)
class LearningGain:
    """Matched pre/post gain for one learner and module (fractions of the maximum)."""

    pre: float
    post: float

    @property
    def raw(self) -> float:
        """Post minus pre, in fractions of the maximum (0.25 = 25 points)."""
        return self.post - self.pre

    @property
    def normalised(self) -> float | None:
        """Hake's normalised gain (post - pre) / (max - pre); None when pre is perfect."""
        if self.pre >= 1.0:
            return None
        return (self.post - self.pre) / (1.0 - self.pre)
