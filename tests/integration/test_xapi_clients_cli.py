"""`tierpath xapi client add|list|revoke` manage who may read statements."""

from __future__ import annotations

import base64
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from lti_tool.db.models import XapiReadClient
from lti_tool.runtime import runtime
from lti_tool.services.xapi_clients import hash_secret
from tests.conftest import FakeClock


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def add(runner: FlaskCliRunner, name: str) -> tuple[str, str]:
    result = runner.invoke(args=["xapi", "client", "add", name])
    assert result.exit_code == 0, result.output
    key = re.search(r"^key:\s+(\S+)$", result.output, re.MULTILINE)
    secret = re.search(r"^secret:\s+(\S+)$", result.output, re.MULTILINE)
    assert key is not None, result.output
    assert secret is not None, result.output
    return key.group(1), secret.group(1)


def test_add_prints_a_key_and_a_secret_that_is_kept_only_as_a_hash(
    app: Flask, runner: FlaskCliRunner
) -> None:
    key, secret = add(runner, "dashboard")
    assert len(key) >= 16
    assert len(secret) >= 40
    with runtime(app).session_factory() as session:
        stored = session.scalars(sa.select(XapiReadClient)).one()
    assert stored.name == "dashboard"
    assert stored.key == key
    assert stored.secret_hash == hash_secret(secret)
    assert secret not in stored.secret_hash


def test_add_says_the_secret_is_shown_once(runner: FlaskCliRunner) -> None:
    output = runner.invoke(args=["xapi", "client", "add", "dashboard"]).output
    assert "cannot show it again" in output


def test_add_refuses_a_name_in_use_without_a_traceback(runner: FlaskCliRunner) -> None:
    add(runner, "dashboard")
    again = runner.invoke(args=["xapi", "client", "add", "dashboard"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert "Traceback" not in again.output
    assert again.exception is None or isinstance(again.exception, SystemExit)


def test_add_refuses_a_blank_name(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["xapi", "client", "add", "  "])
    assert result.exit_code == 1
    assert "needs a name" in result.output


def test_list_shows_clients_but_never_a_secret_or_hash(
    app: Flask, runner: FlaskCliRunner
) -> None:
    assert "no read clients" in runner.invoke(args=["xapi", "client", "list"]).output
    key, secret = add(runner, "dashboard")
    add(runner, "warehouse")
    listed = runner.invoke(args=["xapi", "client", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split("\t") == ["name", "key", "created", "last used", "status"]
    assert lines[1].startswith(f"dashboard\t{key}\t")
    assert lines[1].endswith("\tnever\tactive")
    assert lines[2].startswith("warehouse\t")
    assert secret not in listed.output
    assert hash_secret(secret) not in listed.output


def test_list_shows_when_a_client_was_last_used(
    app: Flask, runner: FlaskCliRunner, clock: FakeClock
) -> None:
    key, secret = add(runner, "dashboard")
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    response = app.test_client().get(
        "/xapi/statements",
        headers={
            "Authorization": f"Basic {token}",
            "X-Experience-API-Version": "1.0.3",
        },
    )
    assert response.status_code == 200
    listed = runner.invoke(args=["xapi", "client", "list"]).output
    assert f"\t{clock.now:%Y-%m-%d %H:%M} UTC\tactive" in listed


def test_revoke_stops_a_client_and_list_shows_it(
    app: Flask, runner: FlaskCliRunner, clock: FakeClock
) -> None:
    key, secret = add(runner, "dashboard")
    revoked = runner.invoke(args=["xapi", "client", "revoke", "dashboard"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked: dashboard" in revoked.output
    listed = runner.invoke(args=["xapi", "client", "list"]).output
    assert f"revoked {clock.now:%Y-%m-%d %H:%M} UTC" in listed
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    response = app.test_client().get(
        "/xapi/statements",
        headers={
            "Authorization": f"Basic {token}",
            "X-Experience-API-Version": "1.0.3",
        },
    )
    assert response.status_code == 401
    again = runner.invoke(args=["xapi", "client", "add", "dashboard"])
    assert again.exit_code == 1
    assert "revoked" in again.output


def test_revoke_of_an_unknown_client_says_so(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["xapi", "client", "revoke", "nobody"])
    assert result.exit_code == 1
    assert "there is no client named 'nobody'" in result.output


def test_revoking_twice_keeps_the_first_date(
    runner: FlaskCliRunner, clock: FakeClock
) -> None:
    add(runner, "dashboard")
    first = clock.now
    runner.invoke(args=["xapi", "client", "revoke", "dashboard"])
    clock.advance(days=2)
    again = runner.invoke(args=["xapi", "client", "revoke", "dashboard"])
    assert again.exit_code == 0
    assert f"since {first:%Y-%m-%d %H:%M} UTC" in again.output
