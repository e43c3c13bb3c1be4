"""Public badge endpoints: the issuer's DID document, credentials, status lists."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from lti_tool.db.models import BadgeCredential
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services.badge_keys import badge_did_document, did_for, ensure_badge_key
from lti_tool.services.badges import Issuer, status_list_credential
from lti_tool.web.origin import tool_origin

bp = Blueprint("badges", __name__)


@bp.get("/.well-known/did.json")
def did_json() -> Response:
    """did:web document: the current badge key and every earlier one (rotation)."""
    rt = runtime()
    session = db()
    if ensure_badge_key(session, rt.encryptor, rt.clock()):
        session.commit()  # first run: the badge key is generated here
    document = badge_did_document(session, did_for(tool_origin()))
    response = jsonify(document)
    response.headers["Content-Type"] = "application/did+json"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers in browsers
    return response


def _issuer() -> Issuer:
    return Issuer(tool_origin())


def _wants_html() -> bool:
    if request.args.get("format") == "json":
        return False
    best = request.accept_mimetypes.best_match(
        ["application/ld+json", "application/json", "text/html"]
    )
    return best == "text/html"


@bp.get("/credentials/<credential_id>")
def credential(credential_id: str) -> ResponseReturnValue:
    """The signed credential as issued (JSON-LD), or a page for people."""
    found = db().get(BadgeCredential, credential_id)
    if found is None:
        raise Refused(404, "no_such_credential", "There is no such credential.")
    if _wants_html():
        return render_template(
            "badges/credential.html",
            credential=found,
            document=found.document,
            launch=None,
        )
    response = jsonify(found.document)
    response.headers["Content-Type"] = "application/ld+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/status/<int:list_id>")
def status_list(list_id: int) -> Response:
    """The signed revocation status list (BitstringStatusListCredential)."""
    rt = runtime()
    session = db()
    document = status_list_credential(
        session, rt.encryptor, _issuer(), list_id, rt.clock()
    )
    if document is None:
        raise Refused(404, "no_such_status_list", "There is no such status list.")
    session.commit()
    response = jsonify(document)
    response.headers["Content-Type"] = "application/ld+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
