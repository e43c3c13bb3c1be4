"""The statement read API: GET /xapi/statements and GET /xapi/about."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("xapi_api", __name__, url_prefix="/xapi")
