"""Public badge endpoints: the issuer's DID document, credentials, status lists,
achievements with their pictures, and baked downloads.

None of these needs a login: a promotion panel opens them from a link. A
credential's id is a random UUID, and the credential names its recipient only
by a salted hash of their email.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from badges.baking import OB2_KEYWORD, bake_png, bake_svg
from badges.credentials import achievement_document
from lti_tool.db.models import BadgeCredential, Enrolment
from lti_tool.domain.programs import Program, Tier
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services import badge_keys, badge_ob2
from lti_tool.services.badge_keys import badge_did_document, ensure_badge_key
from lti_tool.services.badges import (
    achievement_for,
    credential_state,
    status_list_credential,
    tier_image_png,
    tier_image_svg,
)
from lti_tool.services.programs import current_versions, program_of

bp = Blueprint("badges", __name__)

_JSON_LD = "application/ld+json"


def _public(response: Response, max_age: int = 60) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers in browsers
    return response


def _json_ld(document: Any, max_age: int = 60) -> Response:
    response = jsonify(document)
    response.headers["Content-Type"] = _JSON_LD
    return _public(response, max_age)


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _public(response)


def _wants_html() -> bool:
    if request.args.get("format") == "json":
        return False
    best = request.accept_mimetypes.best_match(
        [_JSON_LD, "application/json", "text/html"]
    )
    return best == "text/html"


@bp.get("/.well-known/did.json")
def did_json() -> Response:
    """did:web document: the current badge key and every earlier one (rotation)."""
    rt = runtime()
    session = db()
    if ensure_badge_key(session, rt.encryptor, rt.clock()):
        session.commit()  # first run: the badge key is generated here
    document = badge_did_document(session, rt.badge_issuer().did)
    response = jsonify(document)
    response.headers["Content-Type"] = "application/did+json"
    return _public(response, 300)


def _credential(credential_id: str) -> BadgeCredential:
    found = (
        db().get(BadgeCredential, credential_id) if len(credential_id) <= 36 else None
    )
    if found is None:
        raise Refused(404, "no_such_credential", "There is no such credential.")
    return found


def _program_and_tier(credential: BadgeCredential) -> tuple[Program, Tier]:
    enrolment = db().get(Enrolment, credential.enrolment_id)
    assert enrolment is not None
    program = program_of(enrolment.program_version)
    return program, program.tier(credential.tier_id)


@bp.get("/credentials/<credential_id>")
def credential(credential_id: str) -> ResponseReturnValue:
    """The signed credential as issued (JSON-LD), or its public page for people."""
    found = _credential(credential_id)
    if not _wants_html():
        return _json_ld(found.document)
    program, tier = _program_and_tier(found)
    issuer = runtime().badge_issuer()
    response = Response(
        render_template(
            "badges/credential.html",
            credential=found,
            document=found.document,
            state=credential_state(found, runtime().clock()),
            program=program,
            tier=tier,
            credential_url=issuer.credential_url(found.id),
            launch=None,
        )
    )
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept")
    return response


@bp.get("/credentials/<credential_id>/credential.json")
def credential_download(credential_id: str) -> Response:
    """The credential as a file, for a wallet or an email attachment."""
    found = _credential(credential_id)
    body = json.dumps(found.document, ensure_ascii=False, indent=2)
    return _download(body, _JSON_LD, f"badge-{found.id}.json")


@bp.get("/credentials/<credential_id>/badge.png")
def baked_png(credential_id: str) -> Response:
    """The tier picture with the OB 3.0 credential baked in (iTXt)."""
    found = _credential(credential_id)
    program, tier = _program_and_tier(found)
    baked = bake_png(tier_image_png(program, tier), json.dumps(found.document))
    return _download(baked, "image/png", f"badge-{found.id}.png")


@bp.get("/credentials/<credential_id>/badge.svg")
def baked_svg(credential_id: str) -> Response:
    """The tier picture with the OB 3.0 credential baked in (CDATA)."""
    found = _credential(credential_id)
    program, tier = _program_and_tier(found)
    baked = bake_svg(tier_image_svg(program, tier), json.dumps(found.document))
    return _download(baked, "image/svg+xml", f"badge-{found.id}.svg")


@bp.get("/status/<int:list_id>")
def status_list(list_id: int) -> Response:
    """The signed revocation status list (BitstringStatusListCredential)."""
    rt = runtime()
    session = db()
    document = status_list_credential(
        session, rt.encryptor, rt.badge_issuer(), list_id, rt.clock()
    )
    if document is None:
        raise Refused(404, "no_such_status_list", "There is no such status list.")
    session.commit()  # keeps the signed list until a bit changes
    return _json_ld(document)


def _current_tier(program_id: str, tier_id: str) -> tuple[Program, Tier]:
    for version in current_versions(db()):
        if version.program_id == program_id:
            program = program_of(version)
            try:
                return program, program.tier(tier_id)
            except KeyError:
                break
    raise Refused(404, "no_such_achievement", "There is no such achievement.")


@bp.get("/achievements/<program_id>/<tier_id>")
def achievement(program_id: str, tier_id: str) -> ResponseReturnValue:
    """The tier as an OB 3.0 Achievement (JSON), or a page describing it."""
    program, tier = _current_tier(program_id, tier_id)
    definition = achievement_for(runtime().badge_issuer(), program, tier)
    if not _wants_html():
        return _json_ld(achievement_document(definition), 300)
    return render_template(
        "badges/achievement.html",
        achievement=definition,
        program=program,
        tier=tier,
        launch=None,
    )


@bp.get("/achievements/<program_id>/<tier_id>/image.svg")
def achievement_svg(program_id: str, tier_id: str) -> Response:
    program, tier = _current_tier(program_id, tier_id)
    response = Response(tier_image_svg(program, tier), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    return _public(response, 3600)


@bp.get("/achievements/<program_id>/<tier_id>/image.png")
def achievement_png(program_id: str, tier_id: str) -> Response:
    program, tier = _current_tier(program_id, tier_id)
    return _public(Response(tier_image_png(program, tier), mimetype="image/png"), 3600)


# --- Open Badges 2.0: hosted issuer, key, badge class, revocation list ------------


@bp.get("/ob2/issuer")
def ob2_issuer() -> Response:
    rt = runtime()
    session = db()
    document = badge_ob2.issuer_document(
        session, rt.encryptor, rt.badge_issuer(), rt.clock()
    )
    session.commit()  # first use creates the 2.0 key
    return _json_ld(document, 300)


@bp.get("/ob2/keys/<kid>")
def ob2_key(kid: str) -> Response:
    document = badge_ob2.key_document(db(), runtime().badge_issuer(), kid[:100])
    if document is None:
        raise Refused(404, "no_such_key", "There is no such key.")
    return _json_ld(document, 300)


@bp.get("/ob2/badges/<program_id>/<tier_id>")
def ob2_badge_class(program_id: str, tier_id: str) -> Response:
    program, tier = _current_tier(program_id, tier_id)
    return _json_ld(
        badge_ob2.badge_class_document(runtime().badge_issuer(), program, tier), 300
    )


@bp.get("/ob2/revocations")
def ob2_revocations() -> Response:
    return _json_ld(badge_ob2.revocation_list_document(db(), runtime().badge_issuer()))


@bp.get("/ob2/assertions/<credential_id>")
def ob2_assertion(credential_id: str) -> ResponseReturnValue:
    """The 2.0 assertion (hosted copy of the JWS payload); 410 Gone once revoked."""
    rt = runtime()
    session = db()
    found = _credential(credential_id)
    badge_keys.ensure_ob2_key(session, rt.encryptor, rt.clock())
    signer = badge_keys.current_ob2_signer(session, rt.encryptor)
    session.commit()
    document = badge_ob2.assertion_document(found, rt.badge_issuer(), signer.kid)
    if found.revoked_at is not None:
        document["revoked"] = True
        document["revocationReason"] = found.revoked_reason or "revoked by the issuer"
        response = _json_ld(document)
        response.status_code = 410
        return response
    return _json_ld(document)


def _ob2_jws(found: BadgeCredential) -> str:
    rt = runtime()
    session = db()
    jws = badge_ob2.signed_assertion(
        session, rt.encryptor, rt.badge_issuer(), found, rt.clock()
    )
    session.commit()
    return jws


@bp.get("/credentials/<credential_id>/ob2.jws")
def ob2_jws(credential_id: str) -> Response:
    """The Open Badges 2.0 signed assertion (compact JWS) as a file."""
    found = _credential(credential_id)
    return _download(_ob2_jws(found), "application/jose", f"badge-{found.id}-ob2.jws")


@bp.get("/credentials/<credential_id>/ob2.png")
def ob2_png(credential_id: str) -> Response:
    """The tier picture with the OB 2.0 signed assertion baked in."""
    found = _credential(credential_id)
    program, tier = _program_and_tier(found)
    baked = bake_png(
        tier_image_png(program, tier), _ob2_jws(found), keyword=OB2_KEYWORD
    )
    return _download(baked, "image/png", f"badge-{found.id}-ob2.png")


@bp.get("/credentials/<credential_id>/ob2.svg")
def ob2_svg(credential_id: str) -> Response:
    """The tier picture (SVG) with the OB 2.0 signed assertion baked in."""
    found = _credential(credential_id)
    program, tier = _program_and_tier(found)
    baked = bake_svg(tier_image_svg(program, tier), _ob2_jws(found), version="2.0")
    return _download(baked, "image/svg+xml", f"badge-{found.id}-ob2.svg")
