"""Admins connect LRSs and watch delivery; the CLI does the same from a shell."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from devlrs import LiveLrs, running_lrs
from lti_tool.db.models import LrsTarget, OutboxEntry
from lti_tool.runtime import runtime
from lti_tool.services import xapi_outbox
from lti_tool.services.xapi_recorder import NewStatement, store_statements
from tests.conftest import FakeClock
from tests.support.platform import ADMIN, LEARNER, SimulatedPlatform, launch_id_from


@pytest.fixture
def lrs() -> Iterator[LiveLrs]:
    with running_lrs() as live:
        yield live


def record(app: Flask, count: int) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        store_statements(
            session,
            [
                NewStatement(
                    {
                        "id": f"00000000-0000-4000-8000-{n:012d}",
                        "actor": {
                            "objectType": "Agent",
                            "account": {"homePage": "https://lms.test", "name": "s"},
                        },
                        "verb": {
                            "id": "http://adlnet.gov/expapi/verbs/completed",
                            "display": {"en-US": "completed"},
                        },
                        "object": {
                            "objectType": "Activity",
                            "id": f"https://tool.test/m/{n}",
                        },
                        "timestamp": "2026-11-23T10:00:00+00:00",
                    },
                    f"test:{n}",
                    None,
                )
                for n in range(count)
            ],
            rt.clock(),
        )
        session.commit()


def admin_page(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> tuple[str, str, str]:
    response, _ = platform.full_launch(client, clock(), roles=ADMIN)
    launch = launch_id_from(response.headers["Location"])
    page = client.get(f"/admin/xapi/?launch={launch}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return launch, csrf, html


def test_admin_connects_an_lrs_and_sees_its_backlog(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    lrs: LiveLrs,
) -> None:
    record(app, 3)
    launch, csrf, html = admin_page(client, platform, clock)
    assert "No LRS is connected" in html
    assert "recorded <strong>3</strong> statements" in html
    added = client.post(
        "/admin/xapi/targets",
        data={
            "csrf_token": csrf,
            "launch": launch,
            "name": "devlrs",
            "endpoint": lrs.endpoint,
            "username": lrs.config.username,
            "password": lrs.config.password,
            "batch_size": "50",
            "history": "on",
        },
    )
    assert added.status_code == 303
    html = client.get(f"/admin/xapi/?launch={launch}").get_data(as_text=True)
    assert "devlrs" in html
    assert "sending" in html
    assert lrs.config.password not in html  # the secret is never shown back
    with runtime(app).session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 3


def test_a_bad_lrs_form_says_what_is_wrong_and_keeps_the_input(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    launch, csrf, _ = admin_page(client, platform, clock)
    response = client.post(
        "/admin/xapi/targets",
        data={
            "csrf_token": csrf,
            "launch": launch,
            "name": "corporate",
            "endpoint": "http://lrs.example.com/xapi",
            "username": "key",
            "password": "secret",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "must use https://" in html
    assert 'value="corporate"' in html


def test_a_paused_lrs_is_an_alert_until_the_admin_resumes_it(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        target, _ = xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput(
                "corp", "https://lrs.example.com/xapi/", "k", "old"
            ),
            rt.encryptor,
            rt.clock(),
        )
        session.commit()
        target_id = target.id
    xapi_outbox.SqlOutboxStore(rt.session_factory, rt.encryptor).pause_target(
        target_id, clock(), "LRS answered 401: bad credentials"
    )
    launch, csrf, html = admin_page(client, platform, clock)
    assert 'role="alert"' in html
    assert "Delivery to “corp” is paused" in html
    home = client.get(f"/admin/?launch={launch}").get_data(as_text=True)
    assert "xAPI delivery is paused" in home
    resumed = client.post(
        f"/admin/xapi/targets/{target_id}/resume",
        data={"csrf_token": csrf, "launch": launch, "password": "new-secret"},
    )
    assert resumed.status_code == 303
    [active] = xapi_outbox.SqlOutboxStore(
        rt.session_factory, rt.encryptor
    ).active_targets()
    assert active.password == "new-secret"


def test_dead_letters_are_listed_with_the_lrs_answer_and_can_be_resent(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput("corp", "https://lrs.example.com/xapi/", "k", "s"),
            rt.encryptor,
            rt.clock(),
        )
        session.commit()
    record(app, 2)
    with rt.session_factory() as session:
        entries = session.scalars(sa.select(OutboxEntry)).all()
        for entry in entries:
            entry.status = "dead"
            entry.last_status = 400
            entry.last_error = "object.id is not a valid IRI"
        session.commit()
        first = entries[0].id
    launch, csrf, html = admin_page(client, platform, clock)
    assert "Dead letters" in html
    assert "400: object.id is not a valid IRI" in html
    assert (
        client.post(
            f"/admin/xapi/dead/{first}/resend",
            data={"csrf_token": csrf, "launch": launch},
        ).status_code
        == 303
    )
    with rt.session_factory() as session:
        states = sorted(session.scalars(sa.select(OutboxEntry.status)))
    assert states == ["dead", "pending"]
    missing = client.post(
        "/admin/xapi/dead/999999/resend", data={"csrf_token": csrf, "launch": launch}
    )
    assert missing.status_code == 404


def test_the_xapi_page_is_for_administrators_only(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=LEARNER)
    launch = launch_id_from(response.headers["Location"])
    assert client.get(f"/admin/xapi/?launch={launch}").status_code == 403
    assert client.post(
        "/admin/xapi/targets", data={"launch": launch, "name": "x"}
    ).status_code in (400, 403)


# -- the CLI -----------------------------------------------------------------------


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def test_lrs_commands_connect_list_deliver_and_remove(
    app: Flask,
    runner: FlaskCliRunner,
    lrs: LiveLrs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record(app, 4)
    monkeypatch.setenv("LRS_SECRET", lrs.config.password)
    added = runner.invoke(
        args=[
            "lrs",
            "add",
            "devlrs",
            "--endpoint",
            lrs.endpoint,
            "--username",
            lrs.config.username,
            "--password-env",
            "LRS_SECRET",
        ]
    )
    assert added.exit_code == 0, added.output
    assert "4 statements queued" in added.output
    again = runner.invoke(
        args=[
            "lrs",
            "add",
            "devlrs",
            "--endpoint",
            lrs.endpoint,
            "--username",
            "x",
            "--password-env",
            "LRS_SECRET",
            "--if-missing",
        ]
    )
    assert again.exit_code == 0
    assert "already connected" in again.output
    listed = runner.invoke(args=["lrs", "list"])
    assert "pending=4" in listed.output
    assert lrs.config.password not in listed.output
    delivered = runner.invoke(args=["xapi", "deliver", "--once"])
    assert delivered.exit_code == 0, delivered.output
    assert delivered.output.startswith("4 sent")
    assert len(lrs.store.snapshot()["stored_ids"]) == 4
    assert "sent=4" in runner.invoke(args=["lrs", "list"]).output
    removed = runner.invoke(args=["lrs", "remove", "devlrs"])
    assert removed.exit_code == 0
    with runtime(app).session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LrsTarget)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0


def test_lrs_add_refuses_bad_input_without_a_traceback(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    empty = runner.invoke(
        args=[
            "lrs",
            "add",
            "x",
            "--endpoint",
            "https://lrs.example.com/xapi/",
            "--username",
            "k",
            "--password-env",
            "NOPE",
        ]
    )
    assert empty.exit_code == 1
    assert "NOPE is empty or not set" in empty.output
    monkeypatch.setenv("S", "secret")
    bad = runner.invoke(
        args=[
            "lrs",
            "add",
            "x",
            "--endpoint",
            "ftp://lrs.example.com/",
            "--username",
            "k",
            "--password-env",
            "S",
        ]
    )
    assert bad.exit_code == 1
    assert "https:// URL" in bad.output
    assert "Traceback" not in bad.output
    unknown = runner.invoke(args=["lrs", "resume", "nobody"])
    assert unknown.exit_code == 1
    assert "no LRS is connected under the name 'nobody'" in unknown.output
