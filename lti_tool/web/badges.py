"""Public badge endpoints: the issuer's DID document (more with the badges issue)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from lti_tool.runtime import db, runtime
from lti_tool.services.badge_keys import badge_did_document, did_for, ensure_badge_key
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
