"""The learner's badge wall and the administrators' badge register."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db.models import BadgeCredential, Enrolment, LmsUser, Person
from lti_tool.runtime import runtime
from lti_tool.services.badges import completed_without_badge, issue_badge
from lti_tool.services.ports import RecordingEventSink
from tests.conftest import FakeClock
from tests.support.learner import launch_id, work_through_tier_one
from tests.support.platform import ADMIN, LEARNER, SimulatedPlatform, launch_id_from


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BASE_URL="https://tool.test")  # type: ignore[no-any-return]


def only_credential(app: Flask) -> BadgeCredential:
    with runtime(app).session_factory() as session:
        (credential,) = session.scalars(sa.select(BadgeCredential)).all()
        return credential


def admin_launch(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> str:
    response, _ = platform.full_launch(client, clock(), roles=ADMIN, sub="admin-7")
    return launch_id_from(response.headers["Location"])


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_learner_home_and_wall_show_the_earned_badge_with_downloads_and_linkedin(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    work_through_tier_one(app, client, platform, clock, tmp_path)
    credential = only_credential(app)
    lid = launch_id(client)
    home = client.get(f"/learner/?launch={lid}").get_data(as_text=True)
    assert "My badges" in home
    assert "Test Career Path: Tier One" in home
    wall = client.get(f"/learner/badges?launch={lid}")
    assert wall.status_code == 200
    html = wall.get_data(as_text=True)
    public = f"https://tool.test/credentials/{credential.id}"
    assert f'value="{public}"' in html
    for download in ("credential.json", "badge.png", "badge.svg"):
        assert f"/credentials/{credential.id}/{download}" in html
    linkedin = html.split('href="https://www.linkedin.com/profile/add?', 1)[1].split(
        '"', 1
    )[0]
    fields = parse_qs(linkedin.replace("&amp;", "&"))
    assert fields["startTask"] == ["CERTIFICATION_NAME"]
    assert fields["name"] == ["Test Career Path: Tier One"]
    assert fields["certUrl"] == [public]
    assert fields["certId"] == [credential.id]
    assert fields["issueYear"] == [str(credential.issued_at.year)]


def test_a_learner_without_badges_is_told_how_to_earn_one(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=LEARNER)
    lid = launch_id_from(response.headers["Location"])
    html = client.get(f"/learner/badges?launch={lid}").get_data(as_text=True)
    assert "Complete a tier to earn its badge" in html


def test_staff_cannot_open_a_learners_wall_and_learners_cannot_open_the_register(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    admin = admin_launch(client, platform, clock)
    assert client.get(f"/learner/badges?launch={admin}").status_code == 403
    response, _ = platform.full_launch(client, clock(), roles=LEARNER)
    learner = launch_id_from(response.headers["Location"])
    assert client.get(f"/admin/badges/?launch={learner}").status_code == 403
    assert (
        client.post(
            "/admin/badges/x/revoke", data={"launch": learner, "reason": "no"}
        ).status_code
        == 403
    )


def test_a_placed_badge_wall_lands_each_role_on_its_page(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=LEARNER)
    learner = launch_id_from(response.headers["Location"])
    placed = client.get(f"/place/badges?launch={learner}")
    assert urlsplit(placed.headers["Location"]).path == "/learner/badges"
    admin = admin_launch(client, platform, clock)
    placed = client.get(f"/place/badges?launch={admin}")
    assert urlsplit(placed.headers["Location"]).path == "/admin/badges/"


def test_an_admin_revokes_with_a_reason_that_the_public_page_shows(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    work_through_tier_one(app, client, platform, clock, tmp_path)
    credential = only_credential(app)
    admin = admin_launch(client, platform, clock)
    page = client.get(f"/admin/badges/?launch={admin}").get_data(as_text=True)
    assert "Test Career Path: Tier One" in page
    assert "ana.morales@example.com" in page
    csrf = csrf_of(page)
    no_reason = client.post(
        f"/admin/badges/{credential.id}/revoke",
        data={"csrf_token": csrf, "launch": admin, "reason": "  "},
    )
    assert no_reason.status_code == 400
    assert "Give a reason" in no_reason.get_data(as_text=True)
    assert only_credential(app).revoked_at is None
    revoked = client.post(
        f"/admin/badges/{credential.id}/revoke",
        data={
            "csrf_token": csrf,
            "launch": admin,
            "reason": "Rotation evidence was not her own.",
        },
    )
    assert revoked.status_code == 303
    stored = only_credential(app)
    assert stored.revoked_reason == "Rotation evidence was not her own."
    assert stored.revoked_by
    public = client.get(
        f"/credentials/{credential.id}", headers={"Accept": "text/html"}
    )
    assert "Rotation evidence was not her own." in public.get_data(as_text=True)
    forged = client.post(
        f"/admin/badges/{credential.id}/revoke",
        data={"csrf_token": "wrong", "launch": admin, "reason": "x"},
    )
    assert forged.status_code in (400, 403)


def test_an_admin_reissues_a_corrected_badge(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    work_through_tier_one(app, client, platform, clock, tmp_path)
    credential = only_credential(app)
    admin = admin_launch(client, platform, clock)
    csrf = csrf_of(client.get(f"/admin/badges/?launch={admin}").get_data(as_text=True))
    response = client.post(
        f"/admin/badges/{credential.id}/reissue",
        data={"csrf_token": csrf, "launch": admin, "reason": ""},
    )
    assert response.status_code == 303
    with runtime(app).session_factory() as session:
        rows = session.scalars(sa.select(BadgeCredential)).all()
    assert len(rows) == 2
    assert sum(1 for row in rows if row.revoked_at is None) == 1


def test_a_tier_completed_without_a_known_email_waits_until_an_admin_issues_it(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    rt = runtime(app)
    work_through_tier_one(app, client, platform, clock, tmp_path)
    with rt.session_factory() as session:
        # As if the tier had been completed with no email known anywhere.
        session.execute(sa.delete(BadgeCredential))
        session.execute(sa.update(Person).values(email=None))
        session.execute(sa.update(LmsUser).values(email=None))
        session.commit()
        (enrolment,) = completed_without_badge(session)
        assert (
            issue_badge(
                session,
                rt.encryptor,
                rt.badge_issuer(),
                enrolment,
                rt.clock(),
                RecordingEventSink(),
            )
            is None
        )
    lid = launch_id(client)
    wall = client.get(f"/learner/badges?launch={lid}").get_data(as_text=True)
    assert "could not be issued yet" in wall
    admin = admin_launch(client, platform, clock)
    page = client.get(f"/admin/badges/?launch={admin}").get_data(as_text=True)
    assert "Completed tiers without a badge" in page
    csrf = csrf_of(page)
    refused = client.post(
        f"/admin/badges/issue/{enrolment.id}",
        data={"csrf_token": csrf, "launch": admin},
    )
    assert "problem=no_email" in refused.headers["Location"]
    with rt.session_factory() as session:
        session.execute(sa.update(Person).values(email="ana.morales@example.com"))
        session.commit()
    issued = client.post(
        f"/admin/badges/issue/{enrolment.id}",
        data={"csrf_token": csrf, "launch": admin},
    )
    assert "done=issued" in issued.headers["Location"]
    assert only_credential(app).enrolment_id == enrolment.id
    with rt.session_factory() as session:
        assert session.get(Enrolment, enrolment.id) is not None
        assert completed_without_badge(session) == []
