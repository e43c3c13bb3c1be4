"""`tierpath badge verify FILE|URL [--email …]` prints each check; exit 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask

from badges.baking import bake_png
from badges.images import tier_badge_png
from lti_tool.db.models import BadgeCredential
from lti_tool.runtime import runtime
from lti_tool.services.badges import revoke_badge
from tests.badges import issuing
from tests.conftest import FakeClock
from tests.web.test_verify_page import FakeRemote

EMAIL = "ana.morales@example.com"


@pytest.fixture
def remote() -> FakeRemote:
    return FakeRemote()


@pytest.fixture
def app(make_app, remote: FakeRemote) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BADGE_VERIFY_REMOTE_LOOKUP=remote)  # type: ignore[no-any-return]


def badge_verify(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["badge", "verify", *args])


def write(tmp_path: Path, name: str, content: bytes | dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_bytes(
        json.dumps(content).encode() if isinstance(content, dict) else content
    )
    return str(path)


def test_a_credential_file_verifies_with_exit_status_0(
    app: Flask, earned: BadgeCredential, tmp_path: Path
) -> None:
    path = write(tmp_path, "badge.json", earned.document)
    result = badge_verify(app, path, "--email", EMAIL)
    assert result.exit_code == 0, result.output
    assert "Test Career Path: Tier One, issued by tierpath" in result.output
    for line in (
        "[passed] Format:",
        "[passed] Signature: Signed by tierpath (did:web:tool.test) with key #key-",
        "[passed] Issuer:",
        "[passed] Validity dates:",
        "[passed] Revocation:",
        "[passed] Recipient: The email you typed matches the recipient.",
    ):
        assert line in result.output
    assert "Verified:" in result.output


def test_a_baked_png_file_verifies(
    app: Flask, earned: BadgeCredential, tmp_path: Path
) -> None:
    png = bake_png(tier_badge_png("Tier One", 1), json.dumps(earned.document))
    result = badge_verify(app, write(tmp_path, "badge.png", png))
    assert result.exit_code == 0, result.output
    assert "read from a baked PNG image" in result.output
    assert "[not checked] Recipient: No email was typed" in result.output


def test_a_wrong_email_or_a_changed_file_exits_with_1(
    app: Flask, earned: BadgeCredential, tmp_path: Path
) -> None:
    path = write(tmp_path, "badge.json", earned.document)
    wrong = badge_verify(app, path, "--email", "someone.else@example.com")
    assert wrong.exit_code == 1, wrong.output
    assert "[FAILED] Recipient: The email you typed does not match" in wrong.output
    tampered = json.loads(json.dumps(earned.document))
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    changed = badge_verify(app, write(tmp_path, "changed.json", tampered))
    assert changed.exit_code == 1
    assert "[FAILED] Signature: The content was changed after it was signed" in (
        changed.output
    )


def test_our_own_credential_url_verifies_from_the_database_offline(
    app: Flask, earned: BadgeCredential, remote: FakeRemote
) -> None:
    url = f"https://tool.test/credentials/{earned.id}"
    result = badge_verify(app, url, "--email", EMAIL, "--offline")
    assert result.exit_code == 0, result.output
    assert "[passed] Recipient" in result.output
    assert remote.asked == []


def test_a_revoked_credential_url_exits_with_1_and_says_why(
    app: Flask, earned: BadgeCredential
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        revoke_badge(session, earned.id, "Issued in error", rt.clock())
        session.commit()
    result = badge_verify(app, f"https://tool.test/credentials/{earned.id}")
    assert result.exit_code == 1
    assert "[FAILED] Revocation: Revoked by the issuer on" in result.output
    assert "Issued in error" in result.output


def test_another_issuers_url_is_fetched_unless_offline(
    app: Flask, clock: FakeClock, remote: FakeRemote
) -> None:
    key = issuing.make_key()
    url = "https://badges.example.org/credentials/1"
    remote.documents.update(
        {
            url: issuing.sign(issuing.tier_badge(), key),
            issuing.ISSUER_DID: issuing.document_for(key),
            issuing.STATUS_LIST_URL: issuing.status_list(key, []),
        }
    )
    clock.now = issuing.CHECKED_AT
    fetched = badge_verify(app, url)
    assert fetched.exit_code == 0, fetched.output
    assert "Contact Center Academy" in fetched.output
    offline = badge_verify(app, url, "--offline")
    assert offline.exit_code == 2
    assert "fetching from other sites is switched off" in offline.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a badge at all", "This is not an Open Badge"),
        (b'{"broken": ', "This is not valid JSON"),
        (tier_badge_png("Tier One", 1), "no Open Badge baked into it"),
    ],
)
def test_unreadable_input_exits_with_2(
    app: Flask, tmp_path: Path, content: bytes, message: str
) -> None:
    result = badge_verify(app, write(tmp_path, "input", content))
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_file_or_no_argument_exits_with_2(app: Flask, tmp_path: Path) -> None:
    missing = badge_verify(app, str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    assert badge_verify(app).exit_code == 2


def test_badge_revoke_needs_a_reason_and_then_the_badge_no_longer_verifies(
    app: Flask, earned: BadgeCredential, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["badge", "list", "--email", "Ana.Morales@example.com"])
    assert listed.exit_code == 0
    assert earned.id in listed.output
    assert "valid" in listed.output
    refused = runner.invoke(args=["badge", "revoke", earned.id, "--reason", " "])
    assert refused.exit_code == 2
    unknown = runner.invoke(args=["badge", "revoke", "nope", "--reason", "x"])
    assert unknown.exit_code == 2
    assert "no badge nope" in unknown.output
    revoked = runner.invoke(
        args=["badge", "revoke", earned.id, "--reason", "Issued to the wrong person"]
    )
    assert revoked.exit_code == 0, revoked.output
    assert "Issued to the wrong person" in runner.invoke(args=["badge", "list"]).output
    path = write(tmp_path, "badge.json", earned.document)
    assert badge_verify(app, path).exit_code == 1
