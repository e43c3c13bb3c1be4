"""A completed tier earns a signed OB 3.0 badge that verifies from the public endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from badges.baking import unbake_png, unbake_svg
from badges.keys import resolver_for
from badges.verification import CredentialCheck, verify_credential
from lti_tool.db.models import BadgeCredential, Enrolment, StoredStatement
from lti_tool.runtime import runtime
from lti_tool.services.badge_keys import rotate_badge_key
from lti_tool.services.badges import (
    completed_without_badge,
    issue_badge,
    reissue_badge,
    revoke_badge,
)
from lti_tool.services.ports import RecordingEventSink
from tests.badges.test_node_oracle import Case, _oracle_available, run_node_verifier
from tests.conftest import FakeClock
from tests.support.badges import credentials
from tests.support.learner import work_through_tier_one
from tests.support.platform import SimulatedPlatform
from tests.support.programs import small_program
from xapi.vocabulary import Verb

DID = "did:web:tool.test"


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BASE_URL="https://tool.test")  # type: ignore[no-any-return]


def public_json(client: FlaskClient, path: str) -> dict[str, Any]:
    response = client.get(path, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document: dict[str, Any] = response.get_json(force=True)
    return document


def check(
    client: FlaskClient, credential: dict[str, Any], clock: FakeClock
) -> CredentialCheck:
    """Verify as an outsider would: DID document and status list over HTTP."""
    did_document = public_json(client, "/.well-known/did.json")
    status_url = credential["credentialStatus"]["statusListCredential"]
    status = public_json(client, status_url.removeprefix("https://tool.test"))
    return verify_credential(
        credential,
        resolve=resolver_for({DID: did_document}),
        now=clock(),
        status_lists={status_url: status},
    )


def test_completing_a_tier_issues_one_signed_badge_that_verifies(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    document = earned.document
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["issuer"]["id"] == DID
    assert document["id"] == f"https://tool.test/credentials/{earned.id}"
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["id"] == "https://tool.test/achievements/test-path/one"
    assert "ana.morales" not in json.dumps(document)  # hashed and salted
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    verdict = check(client, document, clock)
    assert verdict.verified, verdict.errors
    assert verdict.revoked is False


def test_the_badge_is_an_earned_statement_after_the_tier_is_satisfied(
    app: Flask, earned: BadgeCredential
) -> None:
    with runtime(app).session_factory() as session:
        verbs = list(
            session.scalars(
                sa.select(StoredStatement.verb)
                .where(StoredStatement.registration == earned.enrolment_id)
                .order_by(StoredStatement.seq)
            )
        )
        earned_statement = session.scalar(
            sa.select(StoredStatement).where(StoredStatement.verb == Verb.EARNED)
        )
    assert verbs[-2:] == [Verb.SATISFIED, Verb.EARNED]
    assert earned_statement is not None
    assert earned_statement.activity == "https://tool.test/achievements/test-path/one"


def test_issuing_again_for_the_same_tier_returns_the_same_badge(
    app: Flask, earned: BadgeCredential
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        enrolment = session.get(Enrolment, earned.enrolment_id)
        assert enrolment is not None
        again = issue_badge(
            session,
            rt.encryptor,
            rt.badge_issuer(),
            enrolment,
            rt.clock(),
            RecordingEventSink(),
        )
        assert again is not None
        assert again.id == earned.id
        session.commit()
    assert len(credentials(app)) == 1


def test_a_second_live_badge_for_one_enrolment_is_refused_by_the_database(
    app: Flask, earned: BadgeCredential
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        twin = BadgeCredential(
            id="00000000-0000-4000-8000-000000000001",
            enrolment_id=earned.enrolment_id,
            person_id=earned.person_id,
            program_id=earned.program_id,
            tier_id=earned.tier_id,
            status_list_id=earned.status_list_id,
            status_index=earned.status_index + 1,
            issued_at=earned.issued_at,
            document=earned.document,
        )
        session.add(twin)
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()


def test_the_public_credential_url_serves_json_ld_to_machines_and_a_page_to_people(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    assert public_json(client, f"/credentials/{earned.id}") == earned.document
    page = client.get(f"/credentials/{earned.id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Test Career Path: Tier One" in html
    assert "Issued and not revoked" in html
    assert "ana.morales" not in html
    missing = client.get(
        "/credentials/not-a-credential", headers={"Accept": "text/html"}
    )
    assert missing.status_code == 404
    assert "no such credential" in missing.get_data(as_text=True)


def test_downloads_carry_the_credential_baked_into_png_and_svg(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    png = client.get(f"/credentials/{earned.id}/badge.png")
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert "attachment" in png.headers["Content-Disposition"]
    baked = unbake_png(png.get_data())
    assert baked is not None
    assert baked.version == "3.0"
    assert json.loads(baked.text) == earned.document
    svg = client.get(f"/credentials/{earned.id}/badge.svg")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    baked_svg = unbake_svg(svg.get_data(as_text=True))
    assert baked_svg is not None
    assert json.loads(baked_svg.text) == earned.document
    download = client.get(f"/credentials/{earned.id}/credential.json")
    assert json.loads(download.get_data()) == earned.document


def test_the_achievement_and_its_picture_are_served_at_the_ids_the_badge_names(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    achievement = earned.document["credentialSubject"]["achievement"]
    path = achievement["id"].removeprefix("https://tool.test")
    served = public_json(client, path)
    assert served["id"] == achievement["id"]
    assert served["criteria"] == achievement["criteria"]
    image = client.get(achievement["image"]["id"].removeprefix("https://tool.test"))
    assert image.status_code == 200
    assert image.mimetype == "image/svg+xml"
    assert b"<title" in image.get_data()
    assert client.get(f"{path}/image.png").mimetype == "image/png"
    assert client.get("/achievements/test-path/no-such-tier").status_code == 404


def test_a_revoked_badge_fails_verification_through_the_status_list(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    assert check(client, earned.document, clock).verified
    rt = runtime(app)
    with rt.session_factory() as session:
        revoke_badge(
            session, earned.id, "Issued in error", rt.clock(), revoked_by="Admin"
        )
        session.commit()
    verdict = check(client, earned.document, clock)
    assert not verdict.verified
    assert verdict.revoked is True
    page = client.get(f"/credentials/{earned.id}", headers={"Accept": "text/html"})
    assert "Issued in error" in page.get_data(as_text=True)


def test_the_status_list_is_signed_once_until_a_bit_changes(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    first = public_json(client, f"/status/{earned.status_list_id}")
    clock.advance(minutes=5)
    assert public_json(client, f"/status/{earned.status_list_id}") == first
    rt = runtime(app)
    with rt.session_factory() as session:
        revoke_badge(session, earned.id, "test", rt.clock())
        session.commit()
    after = public_json(client, f"/status/{earned.status_list_id}")
    assert (
        after["credentialSubject"]["encodedList"]
        != first["credentialSubject"]["encodedList"]
    )
    assert client.get("/status/999").status_code == 404


def test_old_badges_still_verify_after_the_badge_key_rotates(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        rotate_badge_key(session, rt.encryptor, rt.clock())
        session.commit()
    did_document = public_json(client, "/.well-known/did.json")
    assert len(did_document["assertionMethod"]) == 2
    verdict = check(client, earned.document, clock)
    assert verdict.verified, verdict.errors
    status = public_json(client, f"/status/{earned.status_list_id}")
    assert (
        status["proof"]["verificationMethod"]
        != earned.document["proof"]["verificationMethod"]
    )


def test_a_correction_revokes_the_old_badge_and_issues_a_new_one(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    rt = runtime(app)
    clock.advance(days=1)
    with rt.session_factory() as session:
        new = reissue_badge(
            session,
            rt.encryptor,
            rt.badge_issuer(),
            earned.id,
            "Tier title corrected.",
            rt.clock(),
            rt.sink_for(session),
        )
        assert new is not None
        new_id = new.id
        session.commit()
    old, fresh = credentials(app)
    assert old.id == earned.id
    assert old.revoked_at is not None
    assert old.replaced_by == new_id == fresh.id
    assert "corrected" in (old.revoked_reason or "")
    assert not check(client, old.document, clock).verified
    assert check(client, fresh.document, clock).verified
    with rt.session_factory() as session:
        assert completed_without_badge(session) == []


def test_the_independent_node_verifier_accepts_an_issued_badge_and_rejects_it_revoked(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    _oracle_available()

    def case() -> Case:
        status_url = earned.document["credentialStatus"]["statusListCredential"]
        return Case(
            credential=earned.document,
            did_documents={DID: public_json(client, "/.well-known/did.json")},
            status_lists={
                status_url: public_json(
                    client, status_url.removeprefix("https://tool.test")
                )
            },
            verified=True,
        )

    node = run_node_verifier(case(), now=clock())
    assert node["verified"] is True, node["errors"]
    assert node["status"]["revoked"] is False
    rt = runtime(app)
    with rt.session_factory() as session:
        revoke_badge(session, earned.id, "test", rt.clock())
        session.commit()
    node = run_node_verifier(case(), now=clock())
    assert node["status"]["revoked"] is True


def test_a_badge_that_cannot_be_signed_leaves_the_tier_completed_and_waiting(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("key store unavailable")

    monkeypatch.setattr("lti_tool.services.badges.add_proof", broken)
    enrolment = work_through_tier_one(app, client, platform, clock, tmp_path)
    assert credentials(app) == []
    assert "not issued" in caplog.text
    with runtime(app).session_factory() as session:
        stored = session.get(Enrolment, enrolment.id)
        assert stored is not None
        assert stored.state == "completed"
        assert [e.id for e in completed_without_badge(session)] == [enrolment.id]
        verbs = session.scalars(sa.select(StoredStatement.verb)).all()
    assert Verb.EARNED not in verbs
    assert Verb.SATISFIED in verbs


def test_the_badge_aligns_to_the_tiers_skills_and_expires_with_the_tier(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = small_program().replace(
        'description = "The first tier."\n',
        'description = "The first tier."\n'
        'skills = ["Active listening", "De-escalation"]\nexpiry_months = 12\n',
        1,
    )
    monkeypatch.setattr("tests.support.learner.small_program", lambda: text)
    work_through_tier_one(app, client, platform, clock, tmp_path)
    (earned,) = credentials(app)
    achievement = earned.document["credentialSubject"]["achievement"]
    assert [a["targetName"] for a in achievement["alignment"]] == [
        "Active listening",
        "De-escalation",
    ]
    assert earned.valid_until is not None
    assert earned.document["validUntil"].startswith(f"{earned.valid_until:%Y-%m-%d}")
    assert 360 <= (earned.valid_until - earned.issued_at).days <= 370
    assert check(client, earned.document, clock).verified
    clock.advance(days=400)
    expired = check(client, earned.document, clock)
    assert not expired.verified
    assert any("expired" in error for error in expired.errors)
    page = client.get(f"/credentials/{earned.id}", headers={"Accept": "text/html"})
    assert "Expired" in page.get_data(as_text=True)
