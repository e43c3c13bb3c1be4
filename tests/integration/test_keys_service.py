"""The tool's key pair is generated on first run, rotated, and published current + next."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from lti_tool.runtime import runtime
from lti_tool.services import keys as key_service
from tests.conftest import FakeClock


def test_first_jwks_request_generates_current_and_next_keys(
    client: FlaskClient,
) -> None:
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert len(jwks["keys"]) == 2
    assert {k["alg"] for k in jwks["keys"]} == {"RS256"}
    assert client.get("/.well-known/jwks.json").get_json() == jwks


def test_rotation_promotes_next_key_and_keeps_publishing_two(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    before = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    rt = runtime(app)
    with rt.session_factory() as session:
        current, upcoming = key_service.rotate_keys(session, rt.encryptor, rt.clock())
        session.commit()
        assert key_service.current_key(session, rt.encryptor).kid == current
    assert current == before[1]  # the old "next" key
    after = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    # Just-retired key stays published for a short grace period.
    assert after == [before[0], current, upcoming]
    clock.advance(minutes=11)
    later = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert later == [current, upcoming]


def test_private_keys_are_encrypted_in_the_database(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/.well-known/jwks.json")
    rt = runtime(app)
    with rt.session_factory() as session:
        for row in key_service.list_keys(session):
            assert b"PRIVATE KEY" not in row.private_key_encrypted
