"""Every badge is also an Open Badges 2.0 signed assertion with hosted documents."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from badges.baking import unbake_png, unbake_svg
from badges.ob2 import (
    SignedAssertionCheck,
    read_signed_assertion,
    verify_signed_assertion,
)
from lti_tool.db.models import BadgeCredential
from lti_tool.runtime import runtime
from lti_tool.services.badge_keys import rotate_ob2_key
from lti_tool.services.badges import revoke_badge
from tests.badges.test_ob2_oracle import Case, _oracle_available, run_validator
from tests.conftest import FakeClock

ORIGIN = "https://tool.test"


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BASE_URL=ORIGIN)  # type: ignore[no-any-return]


def fetch(client: FlaskClient, url: str) -> dict[str, Any]:
    response = client.get(url.removeprefix(ORIGIN))
    assert response.status_code in (200, 410), (url, response.status_code)
    document: dict[str, Any] = response.get_json(force=True)
    return document


def hosted_documents(client: FlaskClient, jws: str) -> dict[str, dict[str, Any]]:
    """What a 2.0 verifier fetches: badge class, issuer, key, revocation list."""
    payload = read_signed_assertion(jws)
    badge = fetch(client, payload["badge"])
    issuer = fetch(client, badge["issuer"])
    documents = {
        payload["badge"]: badge,
        badge["issuer"]: issuer,
        payload["verification"]["creator"]: fetch(
            client, payload["verification"]["creator"]
        ),
        issuer["revocationList"]: fetch(client, issuer["revocationList"]),
    }
    return documents


def verify(
    client: FlaskClient, jws: str, clock: FakeClock, email: str | None = None
) -> SignedAssertionCheck:
    return verify_signed_assertion(
        jws, documents=hosted_documents(client, jws), now=clock(), email=email
    )


def test_the_ob2_assertion_verifies_against_its_hosted_documents(
    client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    download = client.get(f"/credentials/{earned.id}/ob2.jws")
    assert download.status_code == 200
    jws = download.get_data(as_text=True)
    payload = read_signed_assertion(jws)
    assert payload["id"] == f"{ORIGIN}/ob2/assertions/{earned.id}"
    assert payload["badge"] == f"{ORIGIN}/ob2/badges/test-path/one"
    assert payload["recipient"]["hashed"] is True
    identifier = earned.document["credentialSubject"]["identifier"][0]
    assert payload["recipient"]["identity"] == identifier["identityHash"]
    check = verify(client, jws, clock, email="  Ana.Morales@Example.com ")
    assert check.verified, check.errors
    wrong = verify(client, jws, clock, email="someone.else@example.com")
    assert not wrong.verified


def test_the_badge_class_carries_the_tier_criteria_and_picture(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    badge = fetch(client, f"{ORIGIN}/ob2/badges/test-path/one")
    assert badge["type"] == "BadgeClass"
    assert badge["name"] == "Test Career Path: Tier One"
    assert badge["criteria"]["narrative"]
    image = client.get(badge["image"].removeprefix(ORIGIN))
    assert image.mimetype == "image/png"


def test_a_revoked_badge_is_in_the_ob2_revocation_list_and_its_hosted_assertion_is_gone(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    jws = client.get(f"/credentials/{earned.id}/ob2.jws").get_data(as_text=True)
    rt = runtime(app)
    with rt.session_factory() as session:
        revoke_badge(session, earned.id, "Issued in error", rt.clock())
        session.commit()
    check = verify(client, jws, clock)
    assert not check.verified
    assert check.revoked is True
    hosted = client.get(f"/ob2/assertions/{earned.id}")
    assert hosted.status_code == 410
    assert hosted.get_json(force=True)["revoked"] is True


def test_baked_ob2_images_carry_the_signed_assertion(
    client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    png = unbake_png(client.get(f"/credentials/{earned.id}/ob2.png").get_data())
    assert png is not None
    assert png.version == "2.0"
    assert verify(client, png.text, clock).verified
    svg = unbake_svg(
        client.get(f"/credentials/{earned.id}/ob2.svg").get_data(as_text=True)
    )
    assert svg is not None
    assert svg.version == "2.0"
    assert svg.text == png.text


def test_after_the_ob2_key_is_replaced_downloads_are_signed_with_the_new_key(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    before = client.get(f"/credentials/{earned.id}/ob2.jws").get_data(as_text=True)
    rt = runtime(app)
    with rt.session_factory() as session:
        rotate_ob2_key(session, rt.encryptor, rt.clock())
        session.commit()
    after = client.get(f"/credentials/{earned.id}/ob2.jws").get_data(as_text=True)
    assert after != before
    assert verify(client, after, clock).verified
    assert not verify(client, before, clock).verified  # 2.0 issuers name one key


def test_unknown_ob2_documents_answer_404(client: FlaskClient) -> None:
    assert client.get("/ob2/keys/nope").status_code == 404
    assert client.get("/ob2/badges/test-path/nope").status_code == 404
    assert client.get("/ob2/assertions/nope").status_code == 404


def test_the_openbadges_validator_accepts_an_issued_baked_ob2_badge(
    client: FlaskClient, clock: FakeClock, earned: BadgeCredential, tmp_path: Path
) -> None:
    _oracle_available()
    baked = client.get(f"/credentials/{earned.id}/ob2.png").get_data()
    found = unbake_png(baked)
    assert found is not None
    documents: dict[str, Any] = dict(hosted_documents(client, found.text))
    badge = next(d for d in documents.values() if d.get("type") == "BadgeClass")
    image = client.get(badge["image"].removeprefix(ORIGIN)).get_data()
    documents[badge["image"]] = (
        "data:image/png;base64," + base64.b64encode(image).decode()
    )
    report = run_validator(
        Case(baked, documents, "ana.morales@example.com", True, ".png"), tmp_path
    )
    assert report["valid"] is True, report["errors"]
    wrong = run_validator(
        Case(baked, documents, "someone.else@example.com", False, ".png"), tmp_path
    )
    assert wrong["valid"] is False
