"""Job rotations through real launches: evidence, grading, passback rows, statements.

The learner (sub user-123) and two supervisors (sub sup-1, sup-2) launch
from the same course; a second course has its own supervisor.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from lti_tool.db.models import (
    Enrolment,
    EvidenceFileRecord,
    EvidenceSubmission,
    Launch,
    LineItemLink,
    Platform,
    RotationGrade,
    ScorePassback,
    StoredStatement,
    ToolSession,
)
from lti_tool.runtime import runtime
from tests.conftest import TOOL_ORIGIN, FakeClock
from tests.support.learner import add_person, launch, launch_id
from tests.support.platform import INSTRUCTOR, LEARNER, SimulatedPlatform
from tests.support.platform import _JwksAdapter as JwksAdapter
from tests.support.programs import install_program, rotation_program

AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS_CLAIM = {
    "scope": [
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    ],
    "lineitems": "https://lms.test/courses/1/lineitems",
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SUPERVISOR = {
    "sub": "sup-1",
    "name": "Sam Supervisor",
    "email": "sam@example.com",
    "given_name": "Sam",
    "family_name": "Supervisor",
}


@pytest.fixture
def learner(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> FlaskClient:
    install_program(app, tmp_path, rotation_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    launch(client, platform, clock, roles=LEARNER, **{AGS: AGS_CLAIM})
    return client


def _enrolment(app: Flask) -> Enrolment:
    with runtime(app).session_factory() as session:
        enrolment: Enrolment | None = session.scalar(sa.select(Enrolment))
    assert enrolment is not None
    return enrolment


def _csrf(html: str) -> str:
    return str(re.findall(r'name="csrf_token" value="([^"]+)"', html)[0])


def _rotation_url(app: Flask, rotation: str = "reporting") -> str:
    return f"/rotations/{_enrolment(app).id}/{rotation}"


def _submit(
    client: FlaskClient,
    url: str,
    files: list[tuple[bytes, str]] | None = None,
    **form: object,
) -> TestResponse:
    lid = launch_id(client)
    page = client.get(f"{url}?launch={lid}")
    assert page.status_code == 200, page.get_data(as_text=True)
    data: dict[str, object] = {
        "csrf_token": _csrf(page.get_data(as_text=True)),
        "launch": lid,
        **form,
    }
    return _post_multipart(client, url, data, files or [])


def _post_multipart(
    client: FlaskClient,
    url: str,
    fields: dict[str, object],
    files: list[tuple[bytes, str]],
) -> TestResponse:
    """POST a multipart form built in memory (the test client would spool a
    big body to a temporary file it never closes)."""
    values: MultiDict[str, object] = MultiDict()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            values.add(name, item)
    for content, name in files:
        values.add("files", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(values)
    return client.post(
        url,
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body),
    )


def _count(app: Flask, model: type) -> int:
    with runtime(app).session_factory() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _browser(app: Flask) -> FlaskClient:
    """Another browser, on the tool's HTTPS origin."""
    client = app.test_client()
    client.environ_base.update(
        {"wsgi.url_scheme": "https", "HTTP_HOST": TOOL_ORIGIN.split("//")[1]}
    )
    return client


def _supervisor(
    app: Flask, platform: SimulatedPlatform, clock: FakeClock, **claims: object
) -> FlaskClient:
    client = _browser(app)
    launch(
        client,
        platform,
        clock,
        roles=INSTRUCTOR,
        **{AGS: AGS_CLAIM, **SUPERVISOR, **claims},
    )
    return client


def _grade(
    client: FlaskClient, submission_id: int, levels: dict[str, int], **form: str
) -> TestResponse:
    lid = launch_id(client)
    rater = form.get("rater", "primary")
    page = client.get(
        f"/grading/submissions/{submission_id}?launch={lid}&rater={rater}"
    )
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    expected = re.search(r'name="expected_revision" value="(\d+)"', html)
    data = {
        "csrf_token": _session_csrf(client),
        "launch": lid,
        "rater": form.pop("rater", "primary"),
        "expected_revision": form.pop(
            "expected_revision", expected.group(1) if expected else "0"
        ),
        "comment": form.pop("comment", ""),
        **{f"level_{k}": str(v) for k, v in levels.items()},
    }
    return client.post(f"/grading/submissions/{submission_id}", data=data)


def _session_csrf(client: FlaskClient) -> str:
    """The form token of the client's tool session (also when the page has no form)."""
    app = client.application
    with runtime(app).session_factory() as session:
        token = session.scalar(
            sa.select(ToolSession.csrf_token)
            .join(Launch, Launch.session_id == ToolSession.id)
            .where(Launch.id == launch_id(client))
        )
    assert token is not None
    return token


def _only_submission(app: Flask) -> EvidenceSubmission:
    with runtime(app).session_factory() as session:
        submission = session.scalars(
            sa.select(EvidenceSubmission).order_by(EvidenceSubmission.id.desc())
        ).first()
    assert submission is not None
    return submission


def test_learner_submits_a_file_and_a_note_and_sees_it_waiting_for_a_grade(
    app: Flask, learner: FlaskClient
) -> None:
    url = _rotation_url(app)
    response = _submit(
        learner,
        url,
        files=[(PDF, "daily report.pdf")],
        note="Pulled and checked the report.",
        checklist=["0", "1"],
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    page = learner.get(response.headers["Location"]).get_data(as_text=True)
    assert "Evidence submitted (version 1)" in page
    assert "waiting for your supervisor" in page
    assert "daily report.pdf" in page
    submission = _only_submission(app)
    assert submission.checklist == [0, 1]
    with runtime(app).session_factory() as session:
        stored = session.scalar(sa.select(EvidenceFileRecord))
        assert stored is not None
        assert stored.content_type == "application/pdf"
        assert runtime(app).blobs.exists(stored.sha256)
        verbs = set(session.scalars(sa.select(StoredStatement.verb)))
        passback = session.scalars(
            sa.select(ScorePassback).where(ScorePassback.source.like("evidence:%"))
        ).one()
    assert "http://activitystrea.ms/schema/1.0/submit" in verbs
    assert passback.payload["activityProgress"] == "Submitted"
    assert passback.payload["gradingProgress"] == "PendingManual"
    assert "scoreGiven" not in passback.payload
    assert passback.line_item["tag"] == "rotation"
    assert passback.line_item["submissionReview"]["url"].endswith("/grading/review")
    # The learner sees their own file back, with safe headers.
    file_url = re.search(r'href="(/rotations/files/\d+[^"]*)"', page)
    assert file_url is not None
    served = learner.get(file_url.group(1).replace("&amp;", "&"))
    assert served.status_code == 200
    assert served.data == PDF
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "report.pdf", "not a PDF"),
        (b"MZ\x90\x00" + b"\x00" * 60, "report.pdf", "not a PDF"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "report.txt", ""),
        (b"", "empty.pdf", ""),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "chart.svg", ""),
    ],
)
def test_disguised_or_disallowed_files_are_refused_and_nothing_is_written(
    app: Flask, learner: FlaskClient, content: bytes, name: str, message: str
) -> None:
    response = _submit(learner, _rotation_url(app), files=[(content, name)], note="x")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="form-error"' in html
    assert message in html
    assert _count(app, EvidenceSubmission) == 0
    assert _count(app, EvidenceFileRecord) == 0
    assert _count(app, ScorePassback) == 0


def test_path_tricks_in_file_names_are_stripped(
    app: Flask, learner: FlaskClient
) -> None:
    response = _submit(
        learner, _rotation_url(app), files=[(PDF, "../../etc/passwd.pdf")], note="x"
    )
    assert response.status_code == 303
    with runtime(app).session_factory() as session:
        name = session.scalar(sa.select(EvidenceFileRecord.name))
    assert name == "passwd.pdf"


def test_oversized_upload_gets_a_clear_413(app: Flask, learner: FlaskClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    lid = launch_id(learner)
    url = _rotation_url(app)
    csrf = _csrf(learner.get(f"{url}?launch={lid}").get_data(as_text=True))
    # A hand-built multipart body in memory (the test client would spool a
    # big one to a temporary file that a refused request never closes).
    body = (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + csrf.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"'
        + b"\r\nContent-Type: application/pdf\r\n\r\n%PDF-"
        + b"0" * limit
        + b"\r\n--b--\r\n"
    )
    response = learner.post(
        f"{url}?launch={lid}",
        input_stream=io.BytesIO(body),
        content_type="multipart/form-data; boundary=b",
        content_length=len(body),
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert _count(app, EvidenceSubmission) == 0


def test_file_over_the_per_file_limit_is_refused_with_the_limit(
    make_app: Callable[..., Flask],
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    app = make_app(EVIDENCE_MAX_FILE_MB=1)
    runtime(app).http.mount(platform.issuer + "/", JwksAdapter(platform))
    install_program(app, tmp_path, rotation_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    client = _browser(app)
    launch(client, platform, clock, roles=LEARNER)
    response = _submit(
        client, _rotation_url(app), files=[(PDF + b"0" * 2**20, "big.pdf")], note="x"
    )
    assert response.status_code == 400
    assert "1 MB" in response.get_data(as_text=True)


def test_evidence_types_the_rotation_does_not_take_are_refused(
    app: Flask, learner: FlaskClient
) -> None:
    response = _submit(learner, _rotation_url(app, "escalations"), note="a note")
    assert response.status_code == 400
    assert "does not take a note" in response.get_data(as_text=True)
    empty = _submit(learner, _rotation_url(app, "escalations"))
    assert "Add some evidence" in empty.get_data(as_text=True)
    bad_link = _submit(
        learner, _rotation_url(app, "escalations"), link="javascript:alert(1)"
    )
    assert bad_link.status_code == 400
    ok = _submit(learner, _rotation_url(app, "escalations"), call_id="CALL-2291")
    assert ok.status_code == 303


def test_resubmission_keeps_history(app: Flask, learner: FlaskClient) -> None:
    url = _rotation_url(app)
    assert _submit(learner, url, note="first").status_code == 303
    assert _submit(learner, url, note="second").status_code == 303
    page = learner.get(f"{url}?launch={launch_id(learner)}").get_data(as_text=True)
    assert "Version 2" in page
    assert "Version 1" in page
    assert "first" in page
    assert "second" in page
    with runtime(app).session_factory() as session:
        numbers = list(session.scalars(sa.select(EvidenceSubmission.number)))
    assert sorted(numbers) == [1, 2]


def test_supervisor_grades_with_the_rubric_and_the_tier_completes_when_all_pass(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    from tests.support.learner import answer_test, study

    enrolment = _enrolment(app)
    lid = launch_id(learner)
    base = f"/learner/enrolments/{enrolment.id}/modules/basics"
    answer_test(learner, f"{base}/pre?launch={lid}", right=4)
    study(learner, base)
    answer_test(learner, f"{base}/post?launch={lid}", right=8)
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    reporting = _only_submission(app).id
    assert (
        _submit(learner, _rotation_url(app, "escalations"), ticket_id="T-1").status_code
        == 303
    )
    escalations = _only_submission(app).id
    supervisor = _supervisor(app, platform, clock)
    queue = supervisor.get(f"/grading/?launch={launch_id(supervisor)}").get_data(
        as_text=True
    )
    assert "Reporting" in queue
    assert "Escalations" in queue
    low = _grade(
        supervisor,
        reporting,
        {"accuracy": 0, "summary": 1},
        comment="Check the figures.",
    )
    assert low.status_code == 303, low.get_data(as_text=True)
    assert _enrolment(app).state == "in_progress"  # 3 of 6 < 70 %
    regrade = _grade(
        supervisor, reporting, {"accuracy": 2, "summary": 1}, comment="Better."
    )
    assert regrade.status_code == 303
    assert _enrolment(app).state == "in_progress"  # escalations not graded yet
    assert _grade(supervisor, escalations, {"handling": 1}).status_code == 303
    assert _enrolment(app).state == "completed"
    with runtime(app).session_factory() as session:
        revisions = list(
            session.scalars(
                sa.select(RotationGrade.revision)
                .where(RotationGrade.submission_id == reporting)
                .order_by(RotationGrade.revision)
            )
        )
        graded = session.scalars(
            sa.select(ScorePassback)
            .where(ScorePassback.source.like("grade:%"))
            .order_by(ScorePassback.id)
        ).all()
        statements = session.scalars(
            sa.select(StoredStatement.payload).where(
                StoredStatement.source.like("grade:%")
            )
        ).all()
    assert revisions == [1, 2]
    with runtime(app).session_factory() as session:
        voiding = session.scalars(
            sa.select(StoredStatement).where(
                StoredStatement.verb == "http://adlnet.gov/expapi/verbs/voided"
            )
        ).one()
        voided = session.scalars(
            sa.select(StoredStatement).where(StoredStatement.voided.is_(True))
        ).one()
    # The regrade withdrew the first grade's statement, as an LRS would see it.
    assert voiding.payload["object"] == {"objectType": "StatementRef", "id": voided.id}
    assert voided.source.startswith("grade:")
    assert [g.payload["gradingProgress"] for g in graded] == ["FullyGraded"] * 3
    assert graded[0].payload["scoreGiven"] == 3.0
    assert graded[0].payload["comment"] == "Check the figures."
    assert graded[0].user_sub == "user-123"
    rubric = statements[0]["result"]["extensions"]
    assert any(key.endswith("rubric-scores") for key in rubric)
    assert any(key.endswith("rubric-levels") for key in rubric)
    page = learner.get(f"{_rotation_url(app)}?launch={lid}").get_data(as_text=True)
    assert "Better." in page
    assert "passed" in page


def test_a_person_cannot_grade_their_own_evidence(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    submission = _only_submission(app).id
    # The same LMS account, now launching as an instructor of the course.
    same_person = _browser(app)
    launch(same_person, platform, clock, roles=INSTRUCTOR, **{AGS: AGS_CLAIM})
    page = same_person.get(
        f"/grading/submissions/{submission}?launch={launch_id(same_person)}"
    )
    assert "your own evidence" in page.get_data(as_text=True)
    response = _grade(same_person, submission, {"accuracy": 2, "summary": 2})
    assert response.status_code == 403
    assert _count(app, RotationGrade) == 0


def test_supervisor_of_another_course_cannot_see_or_grade_the_evidence(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert (
        _submit(
            learner, _rotation_url(app), files=[(PDF, "r.pdf")], note="r"
        ).status_code
        == 303
    )
    submission = _only_submission(app)
    other = _supervisor(
        app, platform, clock, context={"id": "course-2", "title": "Another course"}
    )
    lid = launch_id(other)
    assert (
        other.get(f"/grading/submissions/{submission.id}?launch={lid}").status_code
        == 404
    )
    with runtime(app).session_factory() as session:
        file_id = session.scalar(sa.select(EvidenceFileRecord.id))
    assert other.get(f"/rotations/files/{file_id}?launch={lid}").status_code == 404
    queue = other.get(f"/grading/?launch={lid}").get_data(as_text=True)
    assert "Nothing is waiting" in queue


def test_a_learner_cannot_see_another_learners_evidence(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert (
        _submit(
            learner, _rotation_url(app), files=[(PDF, "r.pdf")], note="r"
        ).status_code
        == 303
    )
    with runtime(app).session_factory() as session:
        file_id = session.scalar(sa.select(EvidenceFileRecord.id))
    add_person(app, months=14, review=2.6, email="ben@example.com")
    other = _browser(app)
    launch(
        other, platform, clock, roles=LEARNER, sub="user-456", email="ben@example.com"
    )
    lid = launch_id(other)
    assert other.get(f"/rotations/files/{file_id}?launch={lid}").status_code == 404
    assert other.get(f"{_rotation_url(app)}?launch={lid}").status_code == 404
    assert other.get(f"/grading/?launch={lid}").status_code == 403


def test_two_supervisors_grading_the_same_revision_one_gets_a_conflict(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    submission = _only_submission(app).id
    first = _supervisor(app, platform, clock)
    second = _supervisor(app, platform, clock, sub="sup-2", name="Sue Second")
    assert _grade(first, submission, {"accuracy": 2, "summary": 2}).status_code == 303
    # The second supervisor's form was opened before the first grade landed.
    late = _grade(
        second, submission, {"accuracy": 0, "summary": 0}, expected_revision="0"
    )
    assert late.status_code == 409
    assert "graded this evidence while you were looking" in late.get_data(as_text=True)
    with runtime(app).session_factory() as session:
        grades = session.scalars(sa.select(RotationGrade)).all()
    assert [(g.revision, g.points) for g in grades] == [(1, 6.0)]


def test_a_grade_missing_a_criterion_is_refused_and_nothing_is_saved(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    supervisor = _supervisor(app, platform, clock)
    response = _grade(supervisor, _only_submission(app).id, {"accuracy": 2})
    assert response.status_code == 400
    assert "Choose a level for “Summary”" in response.get_data(as_text=True)
    bad_level = _grade(
        supervisor, _only_submission(app).id, {"accuracy": 7, "summary": 1}
    )
    assert bad_level.status_code == 400
    assert _count(app, RotationGrade) == 0


def test_second_rater_calibration_shows_agreement_and_kappa(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    submission = _only_submission(app).id
    first = _supervisor(app, platform, clock)
    second = _supervisor(app, platform, clock, sub="sup-2", name="Sue Second")
    assert _grade(first, submission, {"accuracy": 2, "summary": 1}).status_code == 303
    # The first grader cannot also be the second rater.
    same = _grade(first, submission, {"accuracy": 2, "summary": 1}, rater="second")
    assert same.status_code == 403
    rated = _grade(second, submission, {"accuracy": 2, "summary": 2}, rater="second")
    assert rated.status_code == 303
    page = first.get(f"/grading/calibration?launch={launch_id(first)}").get_data(
        as_text=True
    )
    assert "Sam Supervisor" in page
    assert "50.0 %" in page  # one of two criteria agree
    # A second rating does not change the learner's grade or the gradebook.
    with runtime(app).session_factory() as session:
        sources = list(session.scalars(sa.select(ScorePassback.source)))
    assert len([s for s in sources if s.startswith("grade:")]) == 1


def test_opening_evidence_records_one_reviewed_statement_per_grader(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    submission = _only_submission(app).id
    supervisor = _supervisor(app, platform, clock)
    for _ in range(2):
        supervisor.get(
            f"/grading/submissions/{submission}?launch={launch_id(supervisor)}"
        )
    with runtime(app).session_factory() as session:
        reviewed = session.scalars(
            sa.select(StoredStatement.payload).where(
                StoredStatement.verb == "http://id.tincanapi.com/verb/reviewed"
            )
        ).all()
    assert len(reviewed) == 1
    assert reviewed[0]["actor"]["account"]["name"] == "sup-1"


def test_a_real_docx_is_accepted(app: Flask, learner: FlaskClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    response = _submit(
        learner, _rotation_url(app), files=[(buffer.getvalue(), "notes.docx")]
    )
    assert response.status_code == 303, response.get_data(as_text=True)


def _review_launch(
    app: Flask, platform: SimulatedPlatform, clock: FakeClock, lineitem: str
) -> tuple[FlaskClient, str]:
    """An instructor's LtiSubmissionReviewRequest; returns the browser and where it lands."""
    client = _browser(app)
    response, _ = platform.full_launch(
        client,
        clock(),
        roles=INSTRUCTOR,
        message_type="LtiSubmissionReviewRequest",
        target_link_uri=TOOL_ORIGIN + "/grading/review",
        for_user={"user_id": "user-123"},
        **{AGS: {**AGS_CLAIM, "lineitem": lineitem}, **SUPERVISOR},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return client, response.headers["Location"]


def test_submission_review_from_the_gradebook_opens_the_learners_evidence(
    app: Flask, learner: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    assert _submit(learner, _rotation_url(app), note="report").status_code == 303
    submission = _only_submission(app)
    rt = runtime(app)
    with rt.session_factory() as session:
        platform_id = session.scalar(sa.select(Platform.id))
        assert platform_id is not None
        session.add(
            LineItemLink(
                platform_id=platform_id,
                lineitems_url=AGS_CLAIM["lineitems"],
                resource_id="rot-path/one/rotation/reporting",
                tag="rotation",
                url=f"{AGS_CLAIM['lineitems']}/42",
                label="Job rotation: Reporting",
                score_maximum=6,
                created_at=rt.clock(),
            )
        )
        session.commit()
    reviewer, landing = _review_launch(
        app, platform, clock, f"{AGS_CLAIM['lineitems']}/42"
    )
    assert landing.startswith("/grading/review?")
    page = reviewer.get(landing)
    assert page.status_code == 303
    assert f"/grading/submissions/{submission.id}" in page.headers["Location"]
    unknown, landing = _review_launch(
        app, platform, clock, f"{AGS_CLAIM['lineitems']}/99"
    )
    refused = unknown.get(landing)
    assert refused.status_code == 404
    assert "no evidence for this learner" in refused.get_data(as_text=True)
