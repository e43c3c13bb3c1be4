"""The public /verify page checks a badge and says what it found, in plain words."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
import werkzeug.formparser
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import EnvironBuilder, encode_multipart
from werkzeug.wrappers import Request

from badges.baking import bake_png, bake_svg, png_chunk, read_png_chunks
from badges.images import tier_badge_png, tier_badge_svg
from lti_tool.db.models import BadgeCredential
from lti_tool.netguard import GuardedSession
from lti_tool.runtime import runtime
from lti_tool.services import badge_verify
from lti_tool.services.badge_verify import RemoteLookup, RevocationNote
from lti_tool.services.badges import revoke_badge
from lti_tool.web.verify import SlidingWindowLimiter
from tests.badges import issuing
from tests.conftest import FakeClock

EMAIL = "ana.morales@example.com"
JsonObject = dict[str, Any]


class FakeRemote:
    """Other issuers' sites: a dict of URL or DID -> JSON, recording what was asked."""

    def __init__(self, documents: dict[str, JsonObject] | None = None) -> None:
        self.documents = documents or {}
        self.asked: list[str] = []

    def _get(self, name: str) -> JsonObject | None:
        self.asked.append(name)
        found = self.documents.get(name)
        if found is None:
            raise badge_verify.LookupFailure(f"{name} answered HTTP 404")
        return found

    def did_document(self, did: str) -> JsonObject | None:
        return self._get(did)

    def status_list(self, url: str) -> JsonObject | None:
        return self._get(url)

    def credential(self, url: str) -> JsonObject | None:
        return self._get(url)

    def revocation_note(self, credential_id: str) -> RevocationNote | None:
        return None


@pytest.fixture
def remote() -> FakeRemote:
    return FakeRemote()


@pytest.fixture
def app(make_app, remote: FakeRemote) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BADGE_VERIFY_REMOTE_LOOKUP=remote)  # type: ignore[no-any-return]


def verify(client: FlaskClient, **fields: Any) -> tuple[int, str]:
    """POST the form as a browser does (multipart) and return status and page text."""
    values = {"credential": "", "url": "", "email": "", **fields}
    response = client.post("/verify", data=values, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def outcome(page: str, title: str) -> str:
    """The outcome word shown for a check: Passed, Failed or Not checked."""
    start = page.index(f"<strong>{title}:</strong>")
    for word in ("Not checked", "Passed", "Failed"):
        position = page.find(word, start)
        if position != -1 and position < page.find("</li>", start):
            return word
    raise AssertionError(f"no outcome for {title}")


ALL_CHECKS = ("Format", "Signature", "Issuer", "Validity dates", "Revocation")


def foreign_badge(
    remote: FakeRemote, *, revoked: list[int] | None = None
) -> JsonObject:
    """A badge of another issuer (did:web:badges.example.org), served by ``remote``."""
    key = issuing.make_key()
    remote.documents[issuing.ISSUER_DID] = issuing.document_for(key)
    remote.documents[issuing.STATUS_LIST_URL] = issuing.status_list(key, revoked or [])
    return issuing.sign(issuing.tier_badge(), key)


# --- the happy path -------------------------------------------------------------


def test_the_form_is_public_labelled_and_not_cached(client: FlaskClient) -> None:
    response = client.get("/verify")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for field in ("v-credential", "v-file", "v-url", "v-email"):
        assert f'<label for="{field}">' in page
        assert f'id="{field}"' in page
    assert 'enctype="multipart/form-data"' in page


def test_a_pasted_credential_with_the_right_email_passes_every_check(
    client: FlaskClient, earned: BadgeCredential, remote: FakeRemote
) -> None:
    status, page = verify(
        client, credential=json.dumps(earned.document), email=f"  {EMAIL.upper()} "
    )
    assert status == 200, page
    for title in (*ALL_CHECKS, "Recipient"):
        assert outcome(page, title) == "Passed", title
    assert "Verified: this badge is genuine" in page
    assert "Signed by tierpath (did:web:tool.test) with key #key-" in page
    assert "the signature matches the content" in page
    assert "The email you typed matches the recipient." in page
    assert "Test Career Path: Tier One" in page
    assert "✔" in page
    assert "✘" not in page
    assert remote.asked == []  # our own badge: DID document and status list from the DB


def test_without_an_email_the_recipient_is_not_checked_but_the_badge_verifies(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    status, page = verify(client, credential=json.dumps(earned.document))
    assert status == 200
    assert outcome(page, "Recipient") == "Not checked"
    assert "No email was typed" in page
    assert "Verified:" in page


def test_a_wrong_email_fails_only_the_recipient_check(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    status, page = verify(
        client, credential=json.dumps(earned.document), email="someone@example.com"
    )
    assert status == 200
    assert outcome(page, "Recipient") == "Failed"
    assert outcome(page, "Signature") == "Passed"
    assert "The email you typed does not match the recipient." in page
    assert "Not verified: the recipient check failed." in page


# --- failures -------------------------------------------------------------------


def test_a_changed_credential_fails_the_signature_check(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    tampered = json.loads(json.dumps(earned.document))
    tampered["credentialSubject"]["achievement"]["name"] = "Test Career Path: Tier Nine"
    status, page = verify(client, credential=json.dumps(tampered))
    assert status == 200
    assert outcome(page, "Signature") == "Failed"
    assert "The content was changed after it was signed" in page
    assert "Not verified" in page


def test_a_revoked_credential_fails_the_revocation_check_with_date_and_reason(
    app: Flask, client: FlaskClient, clock: FakeClock, earned: BadgeCredential
) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        revoke_badge(session, earned.id, "Issued in error", rt.clock())
        session.commit()
    status, page = verify(client, credential=json.dumps(earned.document))
    assert status == 200
    assert outcome(page, "Revocation") == "Failed"
    today = clock()
    assert (
        f"Revoked by the issuer on {today.day} {today:%B %Y}: Issued in error" in page
    )
    assert outcome(page, "Signature") == "Passed"


def test_an_expired_credential_fails_the_dates_check(
    client: FlaskClient, clock: FakeClock, remote: FakeRemote
) -> None:
    badge = foreign_badge(remote)
    clock.now = issuing.ISSUED_AT + timedelta(days=731)
    status, page = verify(client, credential=json.dumps(badge))
    assert status == 200
    assert outcome(page, "Validity dates") == "Failed"
    assert "Expired on 15 January 2028 (UTC)." in page
    assert outcome(page, "Signature") == "Passed"


def test_another_issuers_badge_is_checked_against_its_own_site(
    client: FlaskClient, clock: FakeClock, remote: FakeRemote
) -> None:
    badge = foreign_badge(remote)
    clock.now = issuing.CHECKED_AT
    status, page = verify(client, credential=json.dumps(badge), email=issuing.RECIPIENT)
    assert status == 200
    for title in (*ALL_CHECKS, "Recipient"):
        assert outcome(page, title) == "Passed", title
    assert "https://badges.example.org/.well-known/did.json" in page
    assert remote.asked == [issuing.ISSUER_DID, issuing.STATUS_LIST_URL]


def test_another_issuers_revocation_shows_without_a_reason(
    client: FlaskClient, clock: FakeClock, remote: FakeRemote
) -> None:
    badge = foreign_badge(remote, revoked=[7])
    clock.now = issuing.CHECKED_AT
    _, page = verify(client, credential=json.dumps(badge))
    assert outcome(page, "Revocation") == "Failed"
    assert "Revoked by the issuer: its revocation list marks this credential." in page


def test_a_foreign_issuer_that_cannot_be_fetched_is_a_clear_failure(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    # The real remote lookup; its host resolves to a private address.
    guarded = GuardedSession(
        (1.0, 1.0), allow_loopback=False, resolver=lambda host, port: ["10.1.2.3"]
    )
    app = make_app(BADGE_VERIFY_REMOTE_LOOKUP=RemoteLookup(guarded))
    client = app.test_client()
    key = issuing.make_key()
    badge = issuing.sign(issuing.tier_badge(), key)
    clock.now = issuing.CHECKED_AT
    status, page = verify(client, credential=json.dumps(badge))
    assert status == 200
    assert outcome(page, "Signature") == "Not checked"
    assert (
        "The issuer&#39;s public keys (https://badges.example.org/.well-known/did.json)"
        " could not be fetched: badges.example.org (10.1.2.3) is a private address"
    ) in page
    assert outcome(page, "Issuer") == "Not checked"
    assert outcome(page, "Revocation") == "Not checked"
    assert "some checks could not be done" in page


def test_fetching_from_other_sites_can_be_switched_off(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    remote = FakeRemote()
    app = make_app(BADGE_VERIFY_REMOTE=False, BADGE_VERIFY_REMOTE_LOOKUP=remote)
    badge = foreign_badge(remote)
    clock.now = issuing.CHECKED_AT
    _, page = verify(app.test_client(), credential=json.dumps(badge))
    assert "fetching from other sites is switched off" in page
    assert remote.asked == []


# --- images and URLs -------------------------------------------------------------


def test_a_baked_png_upload_verifies(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    png = bake_png(tier_badge_png("Tier One", 1), json.dumps(earned.document))
    status, page = verify(client, file=(_file(png), "badge.png"), email=EMAIL)
    assert status == 200, page
    for title in (*ALL_CHECKS, "Recipient"):
        assert outcome(page, title) == "Passed", title
    assert "read from a baked PNG image" in page


def test_a_baked_svg_upload_verifies(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    svg = bake_svg(
        tier_badge_svg("Tier One", "Test Career Path", 1), json.dumps(earned.document)
    )
    status, page = verify(client, file=(_file(svg.encode()), "badge.svg"))
    assert status == 200, page
    assert outcome(page, "Signature") == "Passed"
    assert "read from a baked SVG image" in page


def test_the_kind_of_upload_is_told_by_content_not_by_file_name(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    png = bake_png(tier_badge_png("Tier One", 1), json.dumps(earned.document))
    status, page = verify(client, file=(_file(png), "credential.json"))
    assert status == 200
    assert "read from a baked PNG image" in page


def test_the_url_of_our_own_credential_verifies_by_form_and_by_link(
    client: FlaskClient, earned: BadgeCredential, remote: FakeRemote
) -> None:
    url = f"https://tool.test/credentials/{earned.id}"
    status, page = verify(client, url=url, email=EMAIL)
    assert status == 200, page
    assert outcome(page, "Recipient") == "Passed"
    assert "Verified:" in page
    linked = client.get(f"/verify?url={url}")
    assert linked.status_code == 200
    assert linked.headers["Cache-Control"] == "no-store"
    linked_page = linked.get_data(as_text=True)
    assert "Verified:" in linked_page
    assert f'value="{url}"' in linked_page  # the form is prefilled
    assert remote.asked == []


def test_an_unknown_credential_url_on_this_site_is_a_clear_400(
    client: FlaskClient, remote: FakeRemote
) -> None:
    status, page = verify(client, url="https://tool.test/credentials/nope")
    assert status == 400
    assert (
        "there is no credential https://tool.test/credentials/nope on this site" in page
    )
    assert remote.asked == []


# --- bad input --------------------------------------------------------------------


def _plain_png() -> bytes:
    return tier_badge_png("Tier One", 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02 binary junk \xff\xfe", "not a PNG image, an SVG image or JSON"),
        (b"hello, this is a letter", "This is not an Open Badge"),
        (b'{"name": "unterminated', "This is not valid JSON"),
        (b"[1, 2, 3]", "This is not an Open Badge"),
        (b'{"name": "a badge?"}', "its type does not include VerifiableCredential"),
        (b"[" * 100_000, "This is not an Open Badge"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "nested too deeply"),
        (b'{"a": NaN}', "This is not valid JSON"),
        (_plain_png(), "This PNG image has no Open Badge baked into it"),
        (_plain_png()[:300], "truncated PNG"),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
            "DOCTYPE or ENTITY declaration is refused",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG image has no Open Badge"),
        (b"<svg", "not well-formed XML"),
        (b"   ", "The file you chose is empty"),
    ],
)
def test_garbage_is_refused_with_a_message_never_a_500(
    client: FlaskClient, content: bytes, message: str
) -> None:
    if not content.strip():
        status, page = verify(client, file=(_file(b""), "empty.json"))
    else:
        status, page = verify(client, file=(_file(content), "upload.bin"))
    assert status == 400, page
    assert message in page.replace("&#39;", "'")
    assert 'role="alert"' in page


def test_garbage_pasted_as_text_is_refused_too(client: FlaskClient) -> None:
    status, page = verify(client, credential="certainly not a badge")
    assert status == 400
    assert "This is not an Open Badge" in page


def test_a_hostile_credential_is_reported_not_crashed_on(
    client: FlaskClient, earned: BadgeCredential
) -> None:
    hostile = json.loads(json.dumps(earned.document))
    hostile["@context"] = ["relative-context", *hostile["@context"]]
    hostile["credentialStatus"]["statusListIndex"] = [1]
    hostile["credentialSubject"]["identifier"] = 5
    status, page = verify(client, credential=json.dumps(hostile), email=EMAIL)
    assert status == 200
    assert outcome(page, "Signature") == "Failed"
    assert outcome(page, "Revocation") == "Failed"
    assert "malformed" in page
    assert outcome(page, "Recipient") == "Not checked"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Paste a credential, choose a badge file or give the credential"),
        (
            {"credential": "{}", "url": "https://tool.test/credentials/x"},
            "Give only one of these",
        ),
        (
            {"url": "ftp://example.org/badge"},
            "not a web address starting with https://",
        ),
        (
            {"credential": "{}", "email": "not-an-email"},
            "email address does not look right",
        ),
    ],
)
def test_the_form_needs_exactly_one_badge(
    client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    status, page = verify(client, **fields)
    assert status == 400
    assert message in page.replace("&#39;", "'")


def test_a_50_mb_upload_gets_a_clear_413(client: FlaskClient) -> None:
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (50 * 2**20)
    # Encoded in memory: the test client would spool it to a temporary file.
    content_type, body = _multipart({"file": _upload(huge, "huge.png")})
    response = client.post("/verify", data=body, content_type=content_type)
    status, page = response.status_code, response.get_data(as_text=True)
    assert status == 413
    assert "What you sent is too large" in page
    assert "5 MB" in page


def test_pasted_json_over_1_mb_gets_a_clear_413(client: FlaskClient) -> None:
    content_type, body = _multipart({"credential": "{" + " " * (2**20 + 2048) + "}"})
    response = client.post("/verify", data=body, content_type=content_type)
    status, page = response.status_code, response.get_data(as_text=True)
    assert status == 413
    assert "too large" in page


def test_an_open_badges_2_assertion_is_not_supported_without_the_ob2_module(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(badge_verify, "ob2_verifier", lambda: None)
    header = "eyJhbGciOiJSUzI1NiJ9"  # {"alg":"RS256"}
    payload = "eyJ0eXBlIjoiQXNzZXJ0aW9uIn0"  # {"type":"Assertion"}
    status, page = verify(client, credential=f"{header}.{payload}.c2ln")
    assert status == 200
    assert "Open Badges 2.0 assertions are not supported yet" in page
    assert outcome(page, "Signature") == "Not checked"


def test_an_open_badges_2_signed_assertion_goes_to_the_ob2_verifier(
    client: FlaskClient, clock: FakeClock, remote: FakeRemote
) -> None:
    ob2_tests = pytest.importorskip("tests.badges.test_ob2")
    remote.documents.update(ob2_tests.documents_for())
    jws = ob2_tests.ob2.sign_assertion(ob2_tests.make_assertion(), ob2_tests.rsa_key())
    clock.now = issuing.CHECKED_AT
    status, page = verify(client, credential=jws, email=issuing.RECIPIENT)
    assert status == 200, page
    for title in (*ALL_CHECKS, "Recipient"):
        assert outcome(page, title) == "Passed", title
    assert "An Open Badges 2.0 signed assertion" in page
    assert "Tier 1 Customer Care Specialist" in page
    tampered = ob2_tests.tamper_payload(jws, issuedOn="2026-01-01T00:00:00Z")
    _, page = verify(client, credential=tampered)
    assert outcome(page, "Signature") == "Failed"
    assert "The signature does not match the assertion" in page


def test_a_credential_in_jwt_form_is_not_supported_yet(client: FlaskClient) -> None:
    header = "eyJhbGciOiJFUzI1NiJ9"  # {"alg":"ES256"}
    payload = "eyJ2YyI6e319"  # {"vc":{}}
    status, page = verify(client, credential=f"{header}.{payload}.c2ln")
    assert status == 200
    assert "in JWT form (VC-JWT), which is not supported yet" in page
    assert "could not be done" in page


# --- limits: rate, disk, logs -----------------------------------------------------


def test_too_many_checks_from_one_address_get_a_friendly_429(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(BADGE_VERIFY_PER_MINUTE=2).test_client()
    for _ in range(2):
        assert verify(client, credential="not a badge")[0] == 400
    response = client.post(
        "/verify", data={"credential": "{}"}, content_type="multipart/form-data"
    )
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "the most this page allows" in response.get_data(as_text=True)
    other = client.post(
        "/verify",
        data={"credential": "x"},
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert other.status_code == 400  # another address has its own allowance


def test_the_rate_limit_window_slides() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 60.0, clock=lambda: now[0], max_keys=2)
    assert limiter.hit("a") is None
    now[0] = 30.0
    assert limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(30.0)
    now[0] = 60.5
    assert limiter.hit("a") is None  # the first hit left the window
    assert limiter.hit("b") is None
    assert limiter.hit("c") is None  # memory stays bounded: an old key is dropped
    assert len(limiter._hits) == 2


def _large_baked_png(document: JsonObject) -> bytes:
    """A baked PNG well over werkzeug's 500 KB spooling threshold."""
    chunks = read_png_chunks(tier_badge_png("Tier One", 1))
    filler = png_chunk(b"tEXt", b"Comment\x00" + b"x" * 900_000)
    png = b"\x89PNG\r\n\x1a\n" + b"".join(c.encode() for c in chunks[:-1])
    png += filler + chunks[-1].encode()
    return bake_png(png, json.dumps(document))


def _forbid_temporary_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    used: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def _refuse(*args: Any, **kwargs: Any) -> Any:
            used.append(name)
            raise AssertionError(f"{name} was called: an upload would touch the disk")

        return _refuse

    monkeypatch.setattr(
        werkzeug.formparser, "SpooledTemporaryFile", refuse("SpooledTemporaryFile")
    )
    for name in (
        "SpooledTemporaryFile",
        "TemporaryFile",
        "NamedTemporaryFile",
        "mkstemp",
    ):
        monkeypatch.setattr(tempfile, name, refuse(name))
    return used


def test_uploads_are_kept_in_memory_and_never_written_to_disk(
    client: FlaskClient, earned: BadgeCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = _large_baked_png(earned.document)
    assert len(png) > 600_000
    # Encode the body up front: the test client itself would spool it.
    content_type, body = _multipart({"file": _upload(png, "badge.png"), "email": EMAIL})
    used = _forbid_temporary_files(monkeypatch)
    response = client.post("/verify", data=body, content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Verified:" in response.get_data(as_text=True)
    assert used == []


def test_werkzeug_alone_would_spool_such_an_upload_to_a_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hazard the in-memory parser exists for (guards the test above)."""
    content_type, body = _multipart({"file": _upload(b"x" * 600_000, "a.png")})
    used = _forbid_temporary_files(monkeypatch)
    environ = EnvironBuilder(
        method="POST", data=body, content_type=content_type
    ).get_environ()
    with pytest.raises(AssertionError, match="SpooledTemporaryFile"):
        Request(environ).files  # noqa: B018
    assert used == ["SpooledTemporaryFile"]


def test_the_email_is_never_logged(
    client: FlaskClient, earned: BadgeCredential, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    verify(client, credential=json.dumps(earned.document), email=EMAIL)
    verify(client, credential="garbage", email=EMAIL)
    assert caplog.records  # something was logged, just not the email
    assert EMAIL not in caplog.text
    assert "ana.morales" not in caplog.text


def _file(content: bytes) -> BytesIO:
    return BytesIO(content)


def _multipart(values: dict[str, Any]) -> tuple[str, bytes]:
    """Encode a form in memory (the test client would spool big ones to disk)."""
    boundary, body = encode_multipart(values)
    return f"multipart/form-data; boundary={boundary}", body


def _upload(content: bytes, filename: str) -> FileStorage:
    """A file part for werkzeug's encode_multipart (which builds the body in memory)."""
    return FileStorage(BytesIO(content), filename=filename)
