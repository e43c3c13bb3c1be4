"""The issuer's badge keys: sealed at rest, rotated, all published in did.json."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from badges.keys import resolver_for
from badges.proofs import add_proof, verify_proof
from lti_tool.db.models import SigningKey
from lti_tool.runtime import runtime
from lti_tool.services.badge_keys import current_badge_signer, did_for
from tests.badges.issuing import ISSUED_AT, tier_badge

DID = "did:web:tool.test"


def _did_json(client: FlaskClient) -> dict:  # type: ignore[type-arg]
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/did+json"
    return response.get_json()  # type: ignore[no-any-return]


def _sign_now(app: Flask) -> dict:  # type: ignore[type-arg]
    rt = runtime(app)
    with rt.session_factory() as session:
        signer = current_badge_signer(session, rt.encryptor, DID)
    return add_proof(
        tier_badge(issuer_did=DID),
        signer.private_key,
        signer.verification_method,
        ISSUED_AT,
    )


def test_did_document_publishes_the_badge_key_for_the_deployments_host(
    app: Flask, client: FlaskClient
) -> None:
    document = _did_json(client)
    assert document["id"] == DID
    (method,) = document["verificationMethod"]
    assert method["type"] == "Multikey"
    assert method["controller"] == DID
    assert method["publicKeyMultibase"].startswith("z6Mk")
    assert document["assertionMethod"] == [method["id"]]
    with runtime(app).session_factory() as session:
        key = session.scalars(
            sa.select(SigningKey).where(SigningKey.purpose == "badge")
        ).one()
    # The private half is sealed: no raw key bytes or PEM in the row.
    assert b"PRIVATE" not in key.private_key_encrypted
    assert len(key.private_key_encrypted) > 32


def test_badges_signed_before_a_rotation_still_verify(
    app: Flask, client: FlaskClient
) -> None:
    _did_json(client)
    old_badge = _sign_now(app)
    runner = app.test_cli_runner()
    rotated = runner.invoke(args=["keys", "rotate", "--badges"])
    assert rotated.exit_code == 0, rotated.output
    assert "current badge key" in rotated.output
    new_badge = _sign_now(app)
    document = _did_json(client)
    assert len(document["verificationMethod"]) == 2
    resolve = resolver_for({DID: document})
    assert verify_proof(old_badge, resolve).verified
    assert verify_proof(new_badge, resolve).verified
    assert (
        old_badge["proof"]["verificationMethod"]
        != new_badge["proof"]["verificationMethod"]
    )
    listed = runner.invoke(args=["keys", "list"])
    assert listed.output.count("badge key-") == 2


def test_did_web_names_the_port_as_the_spec_asks() -> None:
    assert did_for("https://badges.example.org") == "did:web:badges.example.org"
    assert did_for("http://localhost:5000") == "did:web:localhost%3A5000"
