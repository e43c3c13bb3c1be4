"""A rotation graded inside the LMS lands in the LMS gradebook, over real HTTP.

The development LMS launches tierpath for Ana (learner) and Ines (instructor);
Ana submits evidence, Ines grades it, and the gradebook poster posts the
scores to the LMS's AGS endpoints: Submitted/PendingManual first, then
Completed/FullyGraded with the comment, on one line item found by resourceId
and tag. A failing LMS (5xx) is retried and nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
import sqlalchemy as sa

from lti_tool.ags_delivery import ScorePoster
from lti_tool.db.models import ScorePassback
from lti_tool.runtime import runtime
from tests.support.browser import Browser, forms_in
from tests.support.live import LiveStack, step_stack

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[LiveStack]:
    with step_stack(
        database_url, tmp_path / "instance", AGS_RETRY_BASE=0.05, AGS_RETRY_CAP=0.1
    ) as running:
        yield running


def _lms_state(stack: LiveStack) -> dict:  # type: ignore[type-arg]
    return requests.get(f"{stack.lms_url}/api/state", timeout=10).json()  # type: ignore[no-any-return]


def _rotation_scores(stack: LiveStack) -> tuple[list[dict], dict]:  # type: ignore[type-arg]
    items = [i for i in _lms_state(stack)["lineitems"] if i.get("tag") == "rotation"]
    return items, {s["userId"]: s for i in items for s in i["scores"]}


def _post_all(stack: LiveStack) -> None:
    """Run the poster until the queue is empty (retries are due within 0.1 s)."""
    poster = ScorePoster(runtime(stack.tool))
    for _ in range(50):
        poster.run_once()
        with runtime(stack.tool).session_factory() as session:
            pending = session.scalar(
                sa.select(sa.func.count())
                .select_from(ScorePassback)
                .where(ScorePassback.status == "pending")
            )
        if not pending:
            return
        import time

        time.sleep(0.1)
    raise AssertionError("scores still pending")


def test_evidence_submitted_and_graded_lands_in_the_lms_gradebook(
    stack: LiveStack,
) -> None:
    ana = Browser()
    home = ana.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    assert home.status_code == 200, home.text
    link = re.search(r'href="([^"]*/rotations/[^"]*/reporting\?[^"]*)"', home.text)
    assert link is not None, home.text
    page = ana.open(urljoin(home.url, link.group(1).replace("&amp;", "&")))
    forms, _ = forms_in(page.text)
    form = next(f for f in forms if "/rotations/" in f.action)
    fields = dict(form.fields)
    submitted = ana.http.post(
        urljoin(page.url, form.action),
        data={
            **fields,
            "note": "Daily report pulled and checked.",
            "checklist": ["0", "1"],
        },
        files={"files": ("daily-report.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert submitted.status_code == 200, submitted.text
    assert "Evidence submitted (version 1)" in submitted.text

    _post_all(stack)
    items, scores = _rotation_scores(stack)
    assert len(items) == 1
    assert items[0]["label"] == "Job rotation: Reporting"
    assert items[0]["scoreMaximum"] == 9
    (learner_score,) = scores.values()
    assert learner_score["activityProgress"] == "Submitted"
    assert learner_score["gradingProgress"] == "PendingManual"

    ines = Browser()
    cohort = ines.open(f"{stack.lms_url}/launch/rl-career-path?user=instructor")
    assert cohort.status_code == 200, cohort.text
    grading_link = re.search(r'href="([^"]*/grading/\?[^"]*)"', cohort.text)
    assert grading_link is not None, cohort.text
    queue = ines.open(urljoin(cohort.url, grading_link.group(1).replace("&amp;", "&")))
    grade_link = re.search(r'href="([^"]*/grading/submissions/\d+[^"]*)"', queue.text)
    assert grade_link is not None, queue.text
    grading = ines.open(urljoin(queue.url, grade_link.group(1).replace("&amp;", "&")))
    assert "daily-report.pdf" in grading.text
    levels = dict.fromkeys(
        set(re.findall(r'name="(level_[a-z-]+)"', grading.text)), "2"
    )
    saved = ines.submit(
        grading,
        next(
            i
            for i, f in enumerate(forms_in(grading.text)[0])
            if f.action.endswith(
                tuple(re.findall(r"/grading/submissions/\d+", grading.url))
            )
        ),
        comment="Figures reconcile; well summarised.",
        **levels,
    )
    assert "Grade saved" in saved.text, saved.text

    _post_all(stack)
    items, scores = _rotation_scores(stack)
    assert len(items) == 1  # found again by resourceId + tag, not created twice
    (learner_score,) = scores.values()
    assert learner_score["gradingProgress"] == "FullyGraded"
    assert learner_score["activityProgress"] == "Completed"
    assert learner_score["scoreGiven"] == 9
    assert learner_score["comment"] == "Figures reconcile; well summarised."
    with runtime(stack.tool).session_factory() as session:
        rows = session.scalars(
            sa.select(ScorePassback).order_by(ScorePassback.id)
        ).all()
    assert [r.status for r in rows] == ["sent", "sent"]
    gradebook = requests.get(f"{stack.lms_url}/gradebook", timeout=10)
    assert "Job rotation: Reporting" in gradebook.text


def test_a_rotation_placed_by_deep_linking_gets_its_column_and_opens_the_evidence_page(
    stack: LiveStack,
) -> None:
    ines = Browser()
    picker = ines.open(f"{stack.lms_url}/launch-deep-link?user=instructor")
    assert "Job rotation: Reporting" in picker.text
    key = "rotation:partnerhero-step:foundation:reporting"
    done = ines.submit(picker, item=key, graded="1")
    assert done.status_code == 200, done.text
    state = _lms_state(stack)
    placed = [
        link for link in state["links"] if link["title"] == "Job rotation: Reporting"
    ]
    assert len(placed) == 1
    (column,) = [i for i in state["lineitems"] if i.get("tag") == "rotation"]
    assert column["resourceId"] == "partnerhero-step/foundation/rotation/reporting"
    assert column["scoreMaximum"] == 9
    assert column["submissionReview"]["url"].endswith("/grading/review")
    # Ana (enrolled in the Foundation tier) lands on her evidence page.
    ana = Browser()
    page = ana.open(f"{stack.lms_url}/launch/{placed[0]['id']}?user=learner1")
    assert "/rotations/" in page.url, page.url
    assert "Job rotation: Reporting" in page.text
    # Her submission's score goes to the placed column, not a new one.
    forms, _ = forms_in(page.text)
    form = next(f for f in forms if "/rotations/" in f.action)
    sent = ana.http.post(
        urljoin(page.url, form.action),
        data={**dict(form.fields), "note": "Report sent at 09:00."},
        timeout=10,
    )
    assert "Evidence submitted" in sent.text
    _post_all(stack)
    items, scores = _rotation_scores(stack)
    assert len(items) == 1
    assert len(scores) == 1
    # The instructor opening the placed link lands on the grading queue.
    queue = Browser().open(f"{stack.lms_url}/launch/{placed[0]['id']}?user=instructor")
    assert "/grading/" in queue.url
    assert "Reporting" in queue.text
