"""Drive a learner through the tool as the LMS would: launch, tests, study.

Shared by the learner-flow, xAPI-recording and delivery tests.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db.models import Enrolment, Person
from lti_tool.runtime import runtime
from tests.conftest import FakeClock
from tests.support.platform import LEARNER, SimulatedPlatform, launch_id_from
from tests.support.programs import install_program, small_program


def months_before(day: date, months: int) -> date:
    """Return the same day of the month `months` calendar months earlier."""
    index = day.year * 12 + day.month - 1 - months
    return day.replace(year=index // 12, month=index % 12 + 1, day=min(day.day, 28))


def add_person(app: Flask, *, months: int, review: float | None, email: str) -> int:
    rt = runtime(app)
    today = rt.clock().date()
    with runtime(app).session_factory() as session:
        person = Person(
            employee_id=email.split("@")[0],
            email=email,
            name=email,
            site="Site A",
            line_of_business="Billing",
            hire_date=months_before(today, months),
            review_score=review,
            review_scale=3.0,
            updated_at=rt.clock(),
        )
        session.add(person)
        session.commit()
        return person.id


def only_enrolment(app: Flask) -> Enrolment:
    """Return the single enrolment the test created."""
    with runtime(app).session_factory() as session:
        enrolment: Enrolment | None = session.scalar(sa.select(Enrolment))
    assert enrolment is not None
    return enrolment


def launch(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock, **claims: object
) -> str:
    response, _ = platform.full_launch(client, clock(), **claims)
    assert response.status_code == 303, response.get_data(as_text=True)
    LAUNCH_IDS[id(client)] = launch_id_from(response.headers["Location"])
    home = client.get(response.headers["Location"], follow_redirects=True)
    assert home.status_code == 200, home.get_data(as_text=True)
    return home.get_data(as_text=True)


def launch_id(client: FlaskClient) -> str:
    """Return the launch id of the client's latest launch (kept by `launch`)."""
    return LAUNCH_IDS[id(client)]


LAUNCH_IDS: dict[int, str] = {}


def answer_test(client: FlaskClient, url: str, *, right: int) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    # The page carries prompts and choices, never the answers.
    assert "correct" not in html.lower()
    assert "Because a is right" not in html
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action is not None
    fields = dict(re.findall(r'name="(csrf_token|launch)" value="([^"]+)"', html))
    questions = sorted(set(re.findall(r'name="(q-[a-z-]+-\d\d)"', html)))
    assert len(questions) == 8
    for n, name in enumerate(questions):
        fields[name] = "a" if n < right else "b"
    result = client.post(action.group(1), data=fields, follow_redirects=True)
    assert result.status_code == 200, result.get_data(as_text=True)
    return result.get_data(as_text=True)


def study(client: FlaskClient, module_url: str) -> None:
    """Mark a module as worked through (unlocks its post-test)."""
    lid = launch_id(client)
    csrf = re.findall(
        r'name="csrf_token" value="([^"]+)"',
        client.get(f"/learner/?launch={lid}").get_data(as_text=True),
    )[0]
    studied = client.post(
        f"{module_url}/studied", data={"csrf_token": csrf, "launch": lid}
    )
    assert studied.status_code == 303, studied.get_data(as_text=True)


def work_through_tier_one(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> Enrolment:
    """Ana completes tier one of the small program (a failed post-test first)."""
    install_program(app, tmp_path, small_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    launch(client, platform, clock, roles=LEARNER)
    lid = launch_id(client)
    enrolment = only_enrolment(app)
    base = f"/learner/enrolments/{enrolment.id}/modules/basics"
    answer_test(client, f"{base}/pre?launch={lid}", right=4)
    study(client, base)
    answer_test(client, f"{base}/post?launch={lid}", right=5)
    answer_test(client, f"{base}/post?launch={lid}", right=8)
    assert client.get(f"/learner/?launch={lid}").status_code == 200  # tier two starts
    return enrolment
