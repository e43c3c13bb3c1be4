"""The admin's gradebook passback page: queue per LMS, dead scores, resend."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db.models import Platform, ScorePassback
from lti_tool.runtime import runtime
from tests.conftest import FakeClock
from tests.support.platform import ADMIN, LEARNER, SimulatedPlatform, launch_id_from


def _dead_score(app: Flask) -> None:
    rt = runtime(app)
    now = rt.clock()
    with rt.session_factory() as session:
        platform_id = session.scalar(sa.select(Platform.id))
        assert platform_id is not None
        session.add(
            ScorePassback(
                platform_id=platform_id,
                lineitems_url="https://lms.test/lineitems",
                scopes=[],
                line_item={
                    "resourceId": "r",
                    "tag": "rotation",
                    "label": "Job rotation: Payroll",
                    "scoreMaximum": 9,
                },
                user_sub="user-9",
                payload={"scoreGiven": 5},
                source="grade:1",
                status="dead",
                attempts=3,
                next_attempt_at=now,
                created_at=now,
                last_status=400,
                last_error="POST … answered 400: user not enrolled",
            )
        )
        session.commit()


def test_admin_sees_dead_scores_with_the_reason_and_resends_them(
    app: Flask, client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    _dead_score(app)
    response, _ = platform.full_launch(client, clock(), roles=ADMIN)
    launch = launch_id_from(response.headers["Location"])
    home = client.get(f"/admin/?launch={launch}").get_data(as_text=True)
    assert "could not be sent to an LMS gradebook" in home
    page = client.get(f"/admin/gradebook/?launch={launch}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "user not enrolled" in html
    assert "Job rotation: Payroll" in html
    csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    resent = client.post(
        "/admin/gradebook/resend", data={"csrf_token": csrf, "launch": launch}
    )
    assert resent.status_code == 303
    with runtime(app).session_factory() as session:
        assert session.scalar(sa.select(ScorePassback.status)) == "pending"


def test_a_learner_cannot_open_the_gradebook_admin_page(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=LEARNER)
    launch = launch_id_from(response.headers["Location"])
    assert client.get(f"/admin/gradebook/?launch={launch}").status_code == 403
